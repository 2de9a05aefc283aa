//! A reusable encoding buffer inside a machine.

/// Bytes a machine writes frames through, kept between frames so encoding does not
/// allocate. It holds nothing of the machine's state: every scratch buffer equals every
/// other, and a checkpoint leaves it out.
#[derive(Clone, Debug, Default)]
pub(crate) struct Scratch(pub Vec<u8>);

impl PartialEq for Scratch {
    fn eq(&self, _: &Scratch) -> bool {
        true
    }
}
