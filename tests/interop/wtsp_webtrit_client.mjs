// Interop: WebTrit's own TypeScript signaling client (@webtrit/webtrit-signaling) against
// the `wtsp_server` example: it connects, gets its `state`, places a call that the
// simulated core takes through calling, ringing and accepted, hangs up, and a session the
// core refuses is closed with 4201.
//
//     node wtsp_webtrit_client.mjs ws://127.0.0.1:8080
import WebSocket from 'ws';

// The client uses the browser's WebSocket.
globalThis.WebSocket = WebSocket;
const imported = await import('@webtrit/webtrit-signaling');
const WebtritSignaling = imported.default?.default ?? imported.default;

const base = `${process.argv[2]}/signaling/v1`;
const quiet = { log() {}, info() {}, warn() {} };
Object.assign(console, quiet);

function fail(why) {
  process.stderr.write(`webtrit client against wtsp_server: ${why}\n`);
  process.exit(1);
}
setTimeout(() => fail('timed out'), 20000).unref();

function client(token) {
  const seen = { events: [], state: null, closed: null, errors: [] };
  const waiters = [];
  const changed = () => waiters.splice(0).forEach((w) => w());
  const c = new WebtritSignaling({
    eventCallback: (e) => { seen.events.push(e.event); changed(); },
    handshakeCallback: (s) => { seen.state = s; changed(); },
    errorCallback: (e) => { seen.errors.push(String(e)); changed(); },
    disconnectedCallback: (reason, code) => { seen.closed = { reason, code }; changed(); },
  });
  const until = async (test) => {
    while (!test(seen)) await new Promise((r) => waiters.push(r));
  };
  c.connect({ url: base, token, force: false }).catch(() => {});
  return { c, seen, until };
}

// A call from dial to hangup.
const alice = client('alice');
await alice.until((s) => s.state !== null);
if (alice.seen.state.registration?.status !== 'registered') fail('not registered in state');
const callId = alice.c.generateCallId();
await alice.c.execute('outgoing_call', {
  line: 0,
  call_id: callId,
  number: '100',
  jsep: { type: 'offer', sdp: 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\n' },
});
await alice.until((s) => s.events.includes('accepted'));
await alice.c.execute('hangup', { line: 0, call_id: callId });
await alice.until((s) => s.events.includes('hangup'));
const events = alice.seen.events.join(' ');
if (events !== 'calling ringing accepted hangingup hangup') fail(`events: ${events}`);
if (alice.seen.errors.length) fail(`errors: ${alice.seen.errors}`);
alice.c.disconnect();

// A session the core refuses.
const bad = client('bad');
await bad.until((s) => s.closed !== null);
if (bad.seen.closed.code !== 4201) fail(`refused with ${bad.seen.closed.code}`);

process.stdout.write('webtrit-signaling against wtsp_server: ok\n');
process.exit(0);
