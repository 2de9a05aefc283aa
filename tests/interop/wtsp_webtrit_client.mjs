// Interop: WebTrit's own TypeScript signaling client (@webtrit/webtrit-signaling) against
// the `wtsp_server` example, asserting what the client's own callbacks report: it connects
// and gets its `state`; places a call that the simulated core takes through calling,
// ringing and accepted; a second call on the busy line is refused 503; hold, unhold,
// update, ICE trickle and transfer go through; it hangs up. Then one session per account:
// a login with force evicts it with 4441, one without force is refused with 4431, and a
// session the core refuses is closed with 4201.
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

function client(token, force = false) {
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
  c.connect({ url: base, token, force }).catch(() => {});
  return { c, seen, until };
}

// A call from dial to hangup, with everything a call can do on the way.
const offer = { type: 'offer', sdp: 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\n' };
const alice = client('alice');
await alice.until((s) => s.state !== null);
if (alice.seen.state.registration?.status !== 'registered') fail('not registered in state');
const callId = alice.c.generateCallId();
await alice.c.execute('outgoing_call', { line: 0, call_id: callId, number: '100', jsep: offer });
await alice.until((s) => s.events.includes('accepted'));

// The line is busy: the server refuses a second call on it.
const refused = await alice.c
  .execute('outgoing_call', { line: 0, call_id: alice.c.generateCallId(), number: '101', jsep: offer })
  .then(() => null, (e) => e);
if (refused?.code !== 503) fail(`a call on a busy line: ${refused?.code} ${refused?.message}`);

const step = async (request, params, event) => {
  await alice.c.execute(request, { line: 0, call_id: callId, ...params });
  if (event) await alice.until((s) => s.events.includes(event));
};
await step('hold', { direction: 'sendonly' }, 'holding');
await step('unhold', {}, 'resuming');
await step('update', { jsep: offer }, 'updated');
await alice.c.execute('ice_trickle', {
  line: 0,
  candidate: { candidate: 'candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host', sdpMid: '0', sdpMLineIndex: 0 },
});
await alice.c.execute('ice_trickle', { line: 0, candidate: null });
await step('transfer', { number: '200' }, 'transferring');
await step('hangup', {}, 'hangup');
const events = alice.seen.events.join(' ');
const expected = 'calling ringing accepted holding resuming updating updated transferring hangingup hangup';
if (events !== expected) fail(`events: ${events}`);
if (alice.seen.errors.length) fail(`errors: ${alice.seen.errors}`);

// One session per account: a login with force takes over (the first is closed 4441)...
const again = client('alice', true);
await again.until((s) => s.state !== null);
await alice.until((s) => s.closed !== null);
if (alice.seen.closed.code !== 4441) fail(`evicted with ${alice.seen.closed.code}`);
// ...and one without force is refused while a session is attached (4431).
const third = client('alice', false);
await third.until((s) => s.closed !== null);
if (third.seen.closed.code !== 4431) fail(`a second login refused with ${third.seen.closed.code}`);
if (again.seen.closed !== null) fail('the session that took over was closed');
again.c.disconnect();

// A session the core refuses.
const bad = client('bad');
await bad.until((s) => s.closed !== null);
if (bad.seen.closed.code !== 4201) fail(`refused with ${bad.seen.closed.code}`);

process.stdout.write('webtrit-signaling against wtsp_server: ok\n');
process.exit(0);
