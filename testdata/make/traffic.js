'use strict';
// traffic.js makes the WebSocket traffic of chatsniff's real captures.
//
// One Node process runs a small workerman-chat lookalike server and its
// clients, both from the `ws` package, talking over loopback while
// captures.sh records the wire. Each scenario is a fixed script: every step
// waits for the replies it causes before the next one starts, so the
// messages on the wire (their number, order and content) are the same on
// every run; only ports, masks, timestamps and the "time" fields change.
//
// usage: node traffic.js SCENARIO HOST PORT
//   SCENARIO: uid-plain | room-deflate | room-nocontext | room-plain |
//             tls12-gcm | tls12-chacha (wss://, TLS_CERT and TLS_KEY set)
//
// The servers speak the two workerman-chat protocols described in
// ../../../shared/workerman-chat-protocol.md: "uid" (2014, the Workerman
// manual's tcpdump walkthrough) and "room" (today's workerman-chat). Their
// JSON is written the way PHP's json_encode writes it (`\/`, `\uXXXX`), and
// the clients write raw UTF-8 the way the chat page's string concatenation
// does.

const { WebSocketServer, WebSocket } = require('ws');

const [scenario, host, portText] = process.argv.slice(2);
const port = Number(portText);
if (!scenario || !host || !port) {
  console.error('usage: node traffic.js SCENARIO HOST PORT');
  process.exit(2);
}

// A scenario that has not finished after this long is broken: fail loudly
// rather than leave captures.sh waiting on a capture that never ends.
const watchdog = setTimeout(() => fail('scenario did not finish in 30 s'), 30000);

function fail(why) {
  console.error(`traffic.js ${scenario}: ${why}`);
  process.exit(1);
}

function log(line) {
  console.error(`traffic.js ${scenario}: ${line}`);
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// phpJSON encodes like PHP's json_encode with default flags: "/" is written
// "\/" and every non-ASCII UTF-16 code unit as \uXXXX (so an emoji becomes a
// surrogate pair), which is what workerman-chat puts on the wire.
function phpJSON(value) {
  return JSON.stringify(value)
    .replace(/\//g, '\\/')
    .replace(/[\u0080-\uffff]/g, (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0'));
}

// phpTime is PHP's date('Y-m-d H:i:s') in the machine's local time zone.
function phpTime() {
  const d = new Date();
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ` +
    `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

// htmlspecialchars and nl2br as workerman-chat applies them to content.
function htmlspecialchars(s) {
  return String(s)
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;');
}

function nl2br(s) {
  return s.replace(/(\r\n|\n|\r)/g, '<br />$1');
}

// sendFragmented sends one text message as several frames, cut at the given
// byte offsets. It cuts the UTF-8 bytes, not the characters, because RFC 6455
// only requires the whole message to be valid UTF-8: a decoder must join the
// fragments before it decodes text. between(i) runs after frame i (not the
// last), to put a control frame between fragments.
function sendFragmented(ws, text, cuts, between) {
  const bytes = Buffer.from(text, 'utf8');
  const edges = [0, ...cuts, bytes.length];
  for (let i = 0; i + 1 < edges.length; i++) {
    const fin = i + 2 === edges.length;
    ws.send(bytes.subarray(edges[i], edges[i + 1]), { binary: false, fin });
    if (!fin && between) between(i);
  }
}

// cutsEvery returns the offsets that cut n bytes into frames of size bytes.
function cutsEvery(n, size) {
  const cuts = [];
  for (let off = size; off < n; off += size) cuts.push(off);
  return cuts;
}

// ---------------------------------------------------------------------------
// Servers

// UidServer is the 2014 workerman-chat: login by name, a numeric uid, a
// user_list for the joiner, and say to "all" or to one uid.
class UidServer {
  constructor(wss) {
    this.users = new Map(); // ws -> {uid, name}
    // The uids of the manual's walkthrough, then more in the same range.
    this.nextUids = [783654164, 783700053, 783712345];
    wss.on('connection', (ws) => {
      ws.on('message', (data, isBinary) => this.onMessage(ws, data, isBinary));
      ws.on('close', () => this.onClose(ws));
    });
  }

  broadcast(obj) {
    const text = phpJSON(obj);
    for (const ws of this.users.keys()) ws.send(text);
  }

  onMessage(ws, data, isBinary) {
    if (isBinary) return;
    let msg;
    try {
      msg = JSON.parse(data.toString('utf8'));
    } catch {
      return; // workerman-chat ignores what is not JSON
    }
    switch (msg.type) {
      case 'login': {
        const uid = this.nextUids.shift();
        this.users.set(ws, { uid, name: String(msg.name) });
        const list = [...this.users.values()].map((u) => ({ uid: u.uid, name: u.name }));
        ws.send(phpJSON({ type: 'user_list', user_list: list }));
        this.broadcast({ type: 'login', uid, name: String(msg.name), time: phpTime() });
        break;
      }
      case 'say': {
        const me = this.users.get(ws);
        if (!me) return;
        const out = { type: 'say', from_uid: me.uid, to_uid: msg.to_uid, content: nl2br(htmlspecialchars(msg.content)), time: phpTime() };
        if (msg.to_uid === 'all') {
          this.broadcast(out);
        } else {
          for (const [other, u] of this.users) {
            if (u.uid === Number(msg.to_uid)) other.send(phpJSON(out));
          }
        }
        break;
      }
    }
  }

  onClose(ws) {
    const me = this.users.get(ws);
    if (!me) return;
    this.users.delete(ws);
    this.broadcast({ type: 'logout', uid: me.uid, time: phpTime() });
  }
}

// RoomServer is today's workerman-chat: rooms, 20-hex client_ids, a
// client_list for the joiner, private say echoed to the sender, and a JSON
// ping that clients answer with a JSON pong.
class RoomServer {
  constructor(wss, opts = {}) {
    this.sessions = new Map(); // ws -> {id, name, room}
    this.nextConn = 1;
    // fragmentSize > 0 sends every server message longer than that many bytes
    // as several frames, as servers with a maximum frame size do.
    this.fragmentSize = opts.fragmentSize || 0;
    wss.on('connection', (ws) => {
      // bin2hex(pack('NnN', lanIp, lanPort, connectionId)) with the example
      // gateway 127.0.0.1:2300 from the protocol reference.
      const id = '7f000001' + '08fc' + (this.nextConn++).toString(16).padStart(8, '0');
      this.sessions.set(ws, { id, name: null, room: null });
      ws.on('message', (data, isBinary) => this.onMessage(ws, data, isBinary));
      ws.on('close', () => this.onClose(ws));
    });
  }

  send(ws, obj) {
    const text = phpJSON(obj);
    if (this.fragmentSize > 0 && Buffer.byteLength(text) > this.fragmentSize) {
      sendFragmented(ws, text, cutsEvery(Buffer.byteLength(text), this.fragmentSize));
    } else {
      ws.send(text);
    }
  }

  room(room) {
    return [...this.sessions].filter(([, s]) => s.room === room);
  }

  // pingAll is the gateway's heartbeat: {"type":"ping"} to every client.
  pingAll() {
    for (const [ws, s] of this.sessions) if (s.room !== null) this.send(ws, { type: 'ping' });
  }

  onMessage(ws, data, isBinary) {
    if (isBinary) return;
    const me = this.sessions.get(ws);
    let msg;
    try {
      msg = JSON.parse(data.toString('utf8'));
    } catch {
      return;
    }
    if (!msg || typeof msg !== 'object') return;
    switch (msg.type) {
      case 'pong':
        return;
      case 'login': {
        if (msg.room_id === undefined) return;
        me.room = String(msg.room_id);
        me.name = htmlspecialchars(msg.client_name);
        const list = {};
        for (const [, s] of this.room(me.room)) list[s.id] = s.name;
        const login = { type: 'login', client_id: me.id, client_name: htmlspecialchars(me.name), time: phpTime() };
        for (const [other] of this.room(me.room)) if (other !== ws) this.send(other, login);
        this.send(ws, { ...login, client_list: list });
        return;
      }
      case 'say': {
        if (me.room === null) return;
        const content = nl2br(htmlspecialchars(msg.content));
        if (msg.to_client_id !== 'all') {
          const out = { type: 'say', from_client_id: me.id, from_client_name: me.name, to_client_id: msg.to_client_id, time: phpTime() };
          for (const [other, s] of this.room(me.room)) {
            if (s.id === msg.to_client_id) this.send(other, { ...out, content: '<b>对你说: </b>' + content });
          }
          this.send(ws, { ...out, content: '<b>你对' + htmlspecialchars(msg.to_client_name) + '说: </b>' + content });
          return;
        }
        const out = { type: 'say', from_client_id: me.id, from_client_name: me.name, to_client_id: 'all', content, time: phpTime() };
        for (const [other] of this.room(me.room)) this.send(other, out);
        return;
      }
    }
  }

  onClose(ws) {
    const me = this.sessions.get(ws);
    this.sessions.delete(ws);
    if (!me || me.room === null) return;
    const out = { type: 'logout', from_client_id: me.id, from_client_name: me.name, time: phpTime() };
    for (const [other] of this.room(me.room)) this.send(other, out);
  }
}

// ---------------------------------------------------------------------------
// Clients

// Client is one chat user. Its inbox keeps what arrived so a step can wait
// for the reply it caused, which keeps the order on the wire fixed.
class Client {
  constructor(name, options) {
    this.name = name;
    this.inbox = [];
    this.wake = null;
    const scheme = options && options.tls ? 'wss' : 'ws';
    const url = `${scheme}://${host.includes(':') ? `[${host}]` : host}:${port}/`;
    this.ws = new WebSocket(url, { origin: 'http://127.0.0.1:55151', ...options });
    this.ws.on('message', (data, isBinary) => {
      this.inbox.push({ data, isBinary });
      if (this.wake) this.wake();
    });
    this.ws.on('pong', (data) => log(`${name} got pong ${JSON.stringify(data.toString())}`));
    this.ws.on('error', (err) => fail(`${name}: ${err.message}`));
    this.opened = new Promise((resolve) => this.ws.once('open', resolve));
    this.closed = new Promise((resolve) => this.ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  }

  // send writes one chat message as the page does: JSON in a text frame.
  send(obj, options = {}) {
    return new Promise((resolve, reject) => this.ws.send(JSON.stringify(obj), options, (err) => (err ? reject(err) : resolve())));
  }

  // expect waits for a text message whose JSON type is type and drops the
  // messages before it.
  async expect(type) {
    for (;;) {
      const i = this.inbox.findIndex((m) => !m.isBinary && JSON.parse(m.data.toString()).type === type);
      if (i >= 0) {
        const [m] = this.inbox.splice(0, i + 1).slice(-1);
        return JSON.parse(m.data.toString());
      }
      await new Promise((resolve) => { this.wake = resolve; });
    }
  }

  // nextPong resolves when the next pong frame arrives.
  nextPong() {
    return new Promise((resolve) => this.ws.once('pong', resolve));
  }
}

// ---------------------------------------------------------------------------
// Scenarios

// uid-plain mirrors the manual's walkthrough: no permessage-deflate (the
// Firefox of 2014 did not offer it), 猪猪 already in, mynick logs in and
// says "hi, all !" to everyone.
async function uidPlain() {
  const wss = new WebSocketServer({ host, port, perMessageDeflate: false });
  await new Promise((resolve) => wss.once('listening', resolve));
  new UidServer(wss);
  const opts = { perMessageDeflate: false };

  const pig = new Client('猪猪', opts);
  await pig.opened;
  await pig.send({ type: 'login', name: '猪猪' });
  await pig.expect('login');
  await sleep(100);

  const me = new Client('mynick', opts);
  await me.opened;
  await sleep(50);
  await me.send({ type: 'login', name: 'mynick' });
  const list = await me.expect('user_list');
  await me.expect('login');
  await pig.expect('login');
  await sleep(100);

  await me.send({ type: 'say', to_uid: 'all', content: 'hi, all !' });
  await me.expect('say');
  await pig.expect('say');
  await sleep(100);

  // 猪猪 answers mynick alone: a private say reaches the target only.
  const mynickUid = list.user_list.find((u) => u.name === 'mynick').uid;
  await pig.send({ type: 'say', to_uid: mynickUid, content: '你好 mynick' });
  await me.expect('say');
  await sleep(100);

  // mynick closes the tab (1001, as browsers do), then 猪猪 leaves too.
  me.ws.close(1001);
  await me.closed;
  await pig.expect('logout');
  await sleep(50);
  pig.ws.close(1000);
  await pig.closed;
  await closeServer(wss);
}

// Deterministic filler text for the big messages (a linear congruential
// generator, so every run sends the same bytes).
function fillerText(n, alphabet) {
  let x = 12345;
  let s = '';
  while (s.length < n) {
    x = (x * 1103515245 + 12345) >>> 0;
    s += alphabet[(x >>> 16) % alphabet.length];
  }
  return s;
}

// room-deflate: three clients with permessage-deflate and context takeover
// (ws's default) and threshold 0, so even small messages are compressed;
// fragmented messages both ways, a ping between fragments, ping/pong with
// payloads, a binary message, a message over 64 KiB, closes with codes and
// reasons.
async function roomDeflate() {
  const pmd = { threshold: 0 };
  const wss = new WebSocketServer({ host, port, perMessageDeflate: pmd });
  await new Promise((resolve) => wss.once('listening', resolve));
  const server = new RoomServer(wss, { fragmentSize: 16384 });
  const opts = { perMessageDeflate: pmd };

  const alice = new Client('alice', opts);
  await alice.opened;
  await alice.send({ type: 'login', client_name: 'alice', room_id: '1' });
  const aliceLogin = await alice.expect('login');
  await sleep(50);

  const bob = new Client('bob', opts);
  await bob.opened;
  await bob.send({ type: 'login', client_name: 'bob', room_id: 1 });
  await bob.expect('login');
  await alice.expect('login');
  await sleep(50);

  const pig = new Client('猪猪', opts);
  await pig.opened;
  await pig.send({ type: 'login', client_name: '猪猪', room_id: '1' });
  await pig.expect('login');
  await Promise.all([alice.expect('login'), bob.expect('login')]);
  await sleep(50);

  const all = { to_client_id: 'all', to_client_name: 'all' };
  const everyone = [alice, bob, pig];
  const allGet = (type) => Promise.all(everyone.map((c) => c.expect(type)));

  await alice.send({ type: 'say', ...all, content: 'héllo wörld 👋' });
  await allGet('say');
  await sleep(50);

  // htmlspecialchars and nl2br on the server side.
  await bob.send({ type: 'say', ...all, content: 'a < b & c\nsecond "line"' });
  await allGet('say');
  await sleep(50);

  // A private say: the target gets it, the sender gets the echo.
  await pig.send({ type: 'say', to_client_id: aliceLogin.client_id, to_client_name: 'alice', content: '你好, alice 🐷' });
  await Promise.all([alice.expect('say'), pig.expect('say')]);
  await sleep(50);

  // The gateway's JSON heartbeat and its JSON answers.
  server.pingAll();
  await allGet('ping');
  await Promise.all(everyone.map((c) => c.send({ type: 'pong' })));
  await sleep(50);

  // A message in three frames, cut inside a multi-byte character, with a
  // ping between the first two frames (control frames may come between
  // fragments, RFC 6455 section 5.4). Compressed as one message: the first
  // frame has RSV1, the continuations do not.
  const fragmented = JSON.stringify({ type: 'say', ...all, content: 'fragmented: première partie, 第二部分, third part 🎉' });
  const inside = (ch) => Buffer.byteLength(fragmented.slice(0, fragmented.indexOf(ch))) + 1;
  const pong = alice.nextPong();
  sendFragmented(alice.ws, fragmented, [inside('è'), inside('第')], (i) => { if (i === 0) alice.ws.ping('frag-ping'); });
  await pong;
  await allGet('say');
  await sleep(50);

  // WebSocket-level ping/pong with payloads, both ways; ws answers pings
  // itself with a pong carrying the same payload.
  const bobPong = bob.nextPong();
  bob.ws.ping(Buffer.from('bob ping 🏓'));
  await bobPong;
  const serverSide = [...server.sessions].find(([, s]) => s.name === 'alice')[0];
  const serverPong = new Promise((resolve) => serverSide.once('pong', resolve));
  serverSide.ping(Buffer.from('server ping'));
  await serverPong;
  await sleep(50);

  // A binary message, which the chat server ignores.
  await new Promise((resolve) => bob.ws.send(Buffer.from([0x00, 0x01, 0x02, 0x03, 0x7f, 0x80, 0xfe, 0xff, 0x43, 0x48, 0x41, 0x54]), resolve));
  await sleep(50);

  // A message over 64 KiB: 70,000 characters of text that compresses well,
  // so the capture stays small while the inflated message is large; the
  // server's broadcasts of it go out in 16 KiB frames.
  const big = fillerText(70000, 'abcdefghij ');
  await pig.send({ type: 'say', ...all, content: big });
  await allGet('say');
  await sleep(50);

  // alice leaves with an application close code and a non-ASCII reason; ws
  // echoes code and reason back.
  alice.ws.close(4000, 'alice leaves, 再见');
  await alice.closed;
  await Promise.all([bob.expect('logout'), pig.expect('logout')]);
  await sleep(50);

  bob.ws.close(1000);
  await bob.closed;
  await pig.expect('logout');
  await sleep(50);

  // The server shuts down: a server-initiated close, echoed by the client.
  const pigServerSide = [...server.sessions].find(([, s]) => s.name === '猪猪')[0];
  pigServerSide.close(1001, 'server going away');
  await pig.closed;
  await closeServer(wss);
}

// room-nocontext: permessage-deflate with server_no_context_takeover and
// client_no_context_takeover and 10-bit windows both ways, so each message is
// compressed on its own; identical messages give identical payloads. Also
// an empty compressed message and a 64-bit-length frame sent uncompressed
// (RSV1 clear) on a connection that negotiated compression.
async function roomNoContext() {
  const pmd = {
    threshold: 0,
    serverNoContextTakeover: true,
    clientNoContextTakeover: true,
    serverMaxWindowBits: 10,
    clientMaxWindowBits: 10,
  };
  const wss = new WebSocketServer({ host, port, perMessageDeflate: pmd });
  await new Promise((resolve) => wss.once('listening', resolve));
  new RoomServer(wss);
  const opts = {
    perMessageDeflate: { threshold: 0, serverNoContextTakeover: true, clientNoContextTakeover: true, serverMaxWindowBits: 10, clientMaxWindowBits: true },
  };

  const alice = new Client('alice', opts);
  await alice.opened;
  await alice.send({ type: 'login', client_name: 'alice', room_id: '2' });
  await alice.expect('login');
  await sleep(50);

  const bob = new Client('bob', opts);
  await bob.opened;
  await bob.send({ type: 'login', client_name: 'bob', room_id: '2' });
  const bobLogin = await bob.expect('login');
  await alice.expect('login');
  await sleep(50);

  const all = { to_client_id: 'all', to_client_name: 'all' };
  for (let i = 0; i < 3; i++) {
    await alice.send({ type: 'say', ...all, content: 'same words again' });
    await Promise.all([alice.expect('say'), bob.expect('say')]);
    await sleep(30);
  }

  await bob.send({ type: 'say', ...all, content: 'héllo wörld, 猪猪 says 🐷🐷' });
  await Promise.all([alice.expect('say'), bob.expect('say')]);
  await sleep(50);

  // An empty text message: compressed, it is a few bytes of deflate; the
  // server ignores it (not JSON).
  await new Promise((resolve) => bob.ws.send('', resolve));
  await sleep(50);

  // Over 64 KiB on the wire: text that does not compress much, sent with
  // compression off for this one message. The server's private reply and
  // echo are compressed as usual.
  const big = fillerText(66000, 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/');
  await alice.send({ type: 'say', to_client_id: bobLogin.client_id, to_client_name: 'bob', content: big }, { compress: false });
  await Promise.all([alice.expect('say'), bob.expect('say')]);
  await sleep(50);

  bob.ws.close(4000, 'bye 再见');
  await bob.closed;
  await alice.expect('logout');
  await sleep(50);
  alice.ws.close(1000, 'done');
  await alice.closed;
  await closeServer(wss);
}

// room-plain: no permessage-deflate; a name that needs escaping, a client
// that vanishes without a close frame (TCP close only), and a
// server-initiated close.
async function roomPlain() {
  const wss = new WebSocketServer({ host, port, perMessageDeflate: false });
  await new Promise((resolve) => wss.once('listening', resolve));
  const server = new RoomServer(wss);
  const opts = { perMessageDeflate: false };

  const carol = new Client('carol', opts);
  await carol.opened;
  await carol.send({ type: 'login', client_name: 'carol', room_id: 1 });
  await carol.expect('login');
  await sleep(50);

  const dave = new Client('dave <x>', opts);
  await dave.opened;
  await dave.send({ type: 'login', client_name: 'dave <x>', room_id: 1 });
  await dave.expect('login');
  await carol.expect('login');
  await sleep(50);

  const all = { to_client_id: 'all', to_client_name: 'all' };
  await dave.send({ type: 'say', ...all, content: 'line one\nline two & <i>three</i>' });
  await Promise.all([carol.expect('say'), dave.expect('say')]);
  await sleep(50);

  // Not JSON: ignored by the server, still a message on the wire.
  await new Promise((resolve) => carol.ws.send('not json at all', resolve));
  await sleep(50);

  // An uncompressed message in three frames with a ping (and its pong)
  // between the second and the third.
  const fragmented = JSON.stringify({ type: 'say', ...all, content: 'in three frames: un, deux, trois' });
  const pong = carol.nextPong();
  sendFragmented(carol.ws, fragmented, [20, 60], (i) => { if (i === 1) carol.ws.ping('mid-message ping'); });
  await pong;
  await Promise.all([carol.expect('say'), dave.expect('say')]);
  await sleep(50);

  server.pingAll();
  await Promise.all([carol.expect('ping'), dave.expect('ping')]);
  await carol.send({ type: 'pong' });
  await dave.send({ type: 'pong' });
  await sleep(50);

  // dave's tab crashes: the TCP connection ends with no close frame, and the
  // server still tells the room.
  dave.ws.terminate();
  await carol.expect('logout');
  await sleep(50);

  const carolServerSide = [...server.sessions].find(([, s]) => s.name === 'carol')[0];
  carolServerSide.close(1001, 'server going away');
  await carol.closed;
  await closeServer(wss);
}

// tls12 runs the uid chat over wss:// with TLS 1.2 forced, each client on
// its own cipher suite, deflate on: the server is Node's https with the
// certificate TLS_CERT/TLS_KEY (made by captures.sh), and node's
// --tls-keylog writes the secrets. The clients send SNI "localhost" (Node
// sends none for an address).
function tls12(suites) {
  return async () => {
    const fs = require('fs');
    const https = require('https');
    const server = https.createServer({
      cert: fs.readFileSync(process.env.TLS_CERT), key: fs.readFileSync(process.env.TLS_KEY),
      ALPNProtocols: ['http/1.1'],
    });
    await new Promise((resolve) => server.listen(port, host, resolve));
    const wss = new WebSocketServer({ server, perMessageDeflate: { threshold: 0 } });
    new UidServer(wss);
    const clients = [];
    for (const [i, ciphers] of suites.entries()) {
      const name = `tls-${i + 1}`;
      const c = new Client(name, {
        tls: true, rejectUnauthorized: false, servername: 'localhost', ALPNProtocols: ['http/1.1'],
        maxVersion: 'TLSv1.2', ciphers, perMessageDeflate: { threshold: 0 },
      });
      await c.opened;
      await c.send({ type: 'login', name });
      await c.expect('login');
      await sleep(50);
      clients.push(c);
    }
    for (const c of clients) {
      await c.send({ type: 'say', to_uid: 'all', content: `${c.name} over ${c.ws._socket.getCipher().name}: héllo 🔒` });
      for (const o of clients) await o.expect('say');
      await sleep(50);
    }
    // A message over 16 KiB before deflate: a 16-bit WebSocket length
    // inflated to more than a TLS record holds.
    await clients[0].send({ type: 'say', to_uid: 'all', content: fillerText(40000, 'abcdefgh ') });
    for (const o of clients) await o.expect('say');
    await sleep(50);
    for (const c of clients) {
      c.ws.close(1000);
      await c.closed;
      await sleep(50);
    }
    await closeServer(wss);
    await new Promise((resolve) => server.close(resolve));
  };
}

function closeServer(wss) {
  return new Promise((resolve) => wss.close(resolve));
}

const scenarios = {
  'uid-plain': uidPlain,
  'room-deflate': roomDeflate,
  'room-nocontext': roomNoContext,
  'room-plain': roomPlain,
  'tls12-gcm': tls12(['ECDHE-ECDSA-AES128-GCM-SHA256', 'ECDHE-ECDSA-AES256-GCM-SHA384']),
  'tls12-chacha': tls12(['ECDHE-ECDSA-CHACHA20-POLY1305']),
};

if (!scenarios[scenario]) fail(`unknown scenario (want one of ${Object.keys(scenarios).join(', ')})`);
scenarios[scenario]().then(
  () => {
    clearTimeout(watchdog);
    log('done');
  },
  (err) => fail(err.stack || String(err)),
);
