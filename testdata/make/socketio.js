'use strict';
// socketio.js makes the Socket.IO traffic of chatsniff's real Socket.IO
// captures (issue 14), with the real npm packages: socket.io and
// socket.io-client 4.8 (Engine.IO protocol v4), and socket.io 2.5 with
// socket.io-client 2.5 (Engine.IO protocol v3, installed under the aliases
// socket.io-v2 and socket.io-client-v2).
//
// One Node process runs the server and its clients over loopback while
// socketio.sh records the wire. The server is socket.io's own examples/chat
// (events "add user", "login", "user joined", "new message", "typing",
// "stop typing", "user left") with the tutorial's "chat message" on top, a
// namespace /chat, a room "room1", acks both ways and a binary attachment.
// Each step waits for the events it causes before the next one starts, so
// the Socket.IO packets (their number, order and content) are the same on
// every run. What changes: ports, sids, timestamps, WebSocket masks, and
// where the Engine.IO heartbeats (pings every pingInterval, on their own
// timers) fall among the messages; the number of heartbeats can change by
// one or two too.
//
// usage: node socketio.js SCENARIO HOST PORT
//   SCENARIO: ws | polling | v2 | chromium (BROWSER: the path of the
//             ./browser command, run as BROWSER -mode socketio PAGE-URL)

const http = require('http');
const { spawn } = require('child_process');

const [scenario, host, portText] = process.argv.slice(2);
const port = Number(portText);
if (!scenario || !host || !port) {
  console.error('usage: node socketio.js SCENARIO HOST PORT');
  process.exit(2);
}
const base = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;

// A scenario that has not finished after this long is broken: fail loudly
// rather than leave socketio.sh waiting on a capture that never ends.
const watchdog = setTimeout(() => fail('scenario did not finish in 60 s'), 60000);

function fail(why) {
  console.error(`socketio.js ${scenario}: ${why}`);
  process.exit(1);
}

function log(line) {
  console.error(`socketio.js ${scenario}: ${line}`);
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// within rejects if promise has not settled after ms, so that a lost event
// fails the scenario with its name instead of the watchdog's message.
function within(ms, what, promise) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms); }),
  ]).finally(() => clearTimeout(timer));
}

// ---------------------------------------------------------------------------
// Server

// chatServer installs socket.io's examples/chat on io (a socket.io 4.8 or
// 2.5 Server), plus:
//   - "chat message": the tutorial's event, broadcast to everyone (io.emit);
//   - "join": joins a room, acked with the room's name;
//   - "room message": io.to("room1").emit("room message", {username, message});
//   - "upload": a file {name, data: Buffer}, sent on to the other members of
//     room1 (uploadTo: "room") or to everyone, sender included ("all"), and
//     acked with {name, size};
//   - namespace /chat, where "chat message" goes to all of /chat.
// "new message" is acked with "delivered" when the client asks for an ack.
// It returns the server-side sockets of the default namespace by username.
function chatServer(io, { uploadTo = 'room', history = null } = {}) {
  const byName = new Map();
  let numUsers = 0;
  io.on('connection', (socket) => {
    let addedUser = false;

    socket.on('add user', (username) => {
      if (addedUser) return;
      socket.username = username;
      byName.set(username, socket);
      ++numUsers;
      addedUser = true;
      socket.emit('login', { numUsers });
      socket.broadcast.emit('user joined', { username: socket.username, numUsers });
      // history (a long text) is sent to the user named history.to, so that
      // one polling response is big enough for httpCompression.
      if (history && username === history.to) socket.emit('history', history.lines);
    });

    socket.on('new message', (data, ack) => {
      socket.broadcast.emit('new message', { username: socket.username, message: data });
      if (typeof ack === 'function') ack('delivered');
    });

    socket.on('typing', () => socket.broadcast.emit('typing', { username: socket.username }));
    socket.on('stop typing', () => socket.broadcast.emit('stop typing', { username: socket.username }));

    socket.on('chat message', (msg) => io.emit('chat message', msg));

    socket.on('join', (room, ack) => {
      socket.join(room);
      if (typeof ack === 'function') ack(room);
    });

    socket.on('room message', (message) => io.to('room1').emit('room message', { username: socket.username, message }));

    socket.on('upload', (file, ack) => {
      const out = { username: socket.username, name: file.name, data: file.data };
      if (uploadTo === 'all') io.emit('upload', out);
      else socket.to('room1').emit('upload', out);
      if (typeof ack === 'function') ack({ name: file.name, size: file.data.length });
    });

    socket.on('disconnect', () => {
      if (!addedUser) return;
      --numUsers;
      byName.delete(socket.username);
      socket.broadcast.emit('user left', { username: socket.username, numUsers });
    });
  });

  const chat = io.of('/chat');
  chat.on('connection', (socket) => {
    socket.on('chat message', (msg) => chat.emit('chat message', msg));
  });
  return byName;
}

function listen(server) {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
  });
}

// ---------------------------------------------------------------------------
// Clients

// Client is one Socket.IO socket (one namespace of a Manager). Its inbox
// keeps the events that arrived, by name, so a step can wait for the event
// it caused.
class Client {
  constructor(name, socket, events) {
    this.name = name;
    this.socket = socket;
    this.queues = new Map();
    this.waiters = new Map();
    for (const ev of events) {
      socket.on(ev, (...args) => {
        // The last argument of an event the server wants acked is its
        // callback: answer with what the scenario chose.
        const ack = typeof args[args.length - 1] === 'function' ? args.pop() : null;
        if (ack) ack(this.reply(ev, args));
        const w = this.waiters.get(ev);
        if (w && w.length) w.shift()(args);
        else {
          if (!this.queues.has(ev)) this.queues.set(ev, []);
          this.queues.get(ev).push(args);
        }
      });
    }
    socket.on('connect_error', (err) => fail(`${name}: connect_error ${err.message}`));
    // A disconnect the scenario did not ask for (a missed heartbeat, say)
    // would lose events: fail with its reason.
    this.leaving = false;
    socket.on('disconnect', (reason) => {
      if (!this.leaving) fail(`${name}: disconnected (${reason})`);
    });
    this.connected = new Promise((resolve) => socket.once('connect', resolve));
  }

  reply(ev) {
    if (ev === 'ping?') return 'pong!';
    return null;
  }

  // next resolves with the arguments of the next ev to arrive, and fails
  // after ms.
  next(ev, ms = 5000) {
    const q = this.queues.get(ev);
    if (q && q.length) return Promise.resolve(q.shift());
    return within(ms, `${this.name}: ${ev}`, new Promise((resolve) => {
      if (!this.waiters.has(ev)) this.waiters.set(ev, []);
      this.waiters.get(ev).push(resolve);
    }));
  }

  // emitAck emits with an acknowledgement callback and resolves with its
  // arguments (socket.io 2 has no emitWithAck).
  emitAck(ev, ...args) {
    return within(5000, `${this.name}: ack of ${ev}`, new Promise((resolve) => this.socket.emit(ev, ...args, (...reply) => resolve(reply))));
  }

  // emptyQueue fails if events arrived that the scenario did not expect (a
  // broadcast gone to the wrong peer).
  emptyQueue(ev) {
    const q = this.queues.get(ev);
    if (q && q.length) fail(`${this.name}: unexpected ${ev} ${JSON.stringify(q)}`);
  }
}

const chatEvents = ['login', 'user joined', 'user left', 'new message', 'typing', 'stop typing', 'chat message', 'room message', 'upload', 'ping?', 'history'];

// disconnect closes a client's sockets and waits until its Manager has shut
// the Engine.IO connection (the last socket of a Manager takes it down).
async function disconnect(...clients) {
  for (const c of clients) {
    c.leaving = true;
    const done = new Promise((resolve) => c.socket.once('disconnect', resolve));
    c.socket.disconnect();
    await done;
  }
}

// ---------------------------------------------------------------------------
// Scenarios

const every = (clients, ev) => Promise.all(clients.map((c) => c.next(ev)));

// ws: socket.io 4.8, three clients on WebSocket only (transports:
// ["websocket"], so no polling and no upgrade), pingInterval 300 ms.
async function wsOnly() {
  const { Server } = require('socket.io');
  const { Manager } = require('socket.io-client');
  const httpServer = http.createServer();
  const io = new Server(httpServer, { pingInterval: 300, pingTimeout: 1000, serveClient: false });
  const users = chatServer(io);
  await listen(httpServer);

  const opts = { transports: ['websocket'], reconnection: false };
  const managers = [];
  const client = (name, nsp = '/') => {
    let m = managers.find((x) => x.name === name);
    if (!m) {
      m = { name, manager: new Manager(base, opts) };
      managers.push(m);
    }
    return new Client(`${name}${nsp === '/' ? '' : nsp}`, m.manager.socket(nsp), chatEvents);
  };

  const alice = client('alice');
  await alice.connected;
  alice.socket.emit('add user', 'alice');
  await alice.next('login');
  await sleep(50);

  const bob = client('bob');
  await bob.connected;
  bob.socket.emit('add user', 'bob');
  await Promise.all([bob.next('login'), alice.next('user joined')]);
  await sleep(50);

  // alice types, says something with an ack, stops typing.
  alice.socket.emit('typing');
  await bob.next('typing');
  await sleep(50);
  const [ackReply] = await Promise.all([alice.emitAck('new message', 'hello bob'), bob.next('new message')]);
  log(`alice's ack: ${JSON.stringify(ackReply)}`);
  alice.socket.emit('stop typing');
  await bob.next('stop typing');
  await sleep(50);

  bob.socket.emit('new message', 'hi alice, 你好 👋');
  await alice.next('new message');
  await sleep(50);

  // Both join room1 (acked with the room's name).
  await alice.emitAck('join', 'room1');
  await bob.emitAck('join', 'room1');
  await sleep(50);

  // carol is the tutorial's client: "chat message" with a plain string,
  // which the server sends to everyone, carol too. She is not in room1.
  const carol = client('carol');
  await carol.connected;
  await sleep(50);
  carol.socket.emit('chat message', 'hello from carol');
  await every([alice, bob, carol], 'chat message');
  await sleep(50);

  // io.to("room1"): alice and bob get it, carol does not.
  bob.socket.emit('room message', 'only for room1');
  await every([alice, bob], 'room message');
  await sleep(50);

  // The server asks alice for an ack: socket.timeout(1000).emitWithAck.
  const pong = await within(5000, 'ping? ack', users.get('alice').timeout(1000).emitWithAck('ping?', 'are you there?'));
  log(`server got ${JSON.stringify(pong)} from alice`);
  await sleep(50);

  // A binary attachment: the client's packet is 451-[...] and one binary
  // WebSocket frame; the server sends it on to bob (room1 but alice).
  const [upAck, [up]] = await Promise.all([
    alice.emitAck('upload', { name: 'a.txt', data: Buffer.from('hello') }),
    bob.next('upload'),
  ]);
  log(`upload ack ${JSON.stringify(upAck)}, bob got ${up.name}: ${Buffer.from(up.data).toString()}`);
  await sleep(50);

  // Namespace /chat on the same connections as / (multiplexed).
  const aliceChat = client('alice', '/chat');
  const carolChat = client('carol', '/chat');
  await Promise.all([aliceChat.connected, carolChat.connected]);
  await sleep(50);
  carolChat.socket.emit('chat message', 'hello /chat');
  await every([aliceChat, carolChat], 'chat message');
  await sleep(50);

  // Let a few heartbeats go by with nothing else on the wire.
  await sleep(700);
  carol.emptyQueue('room message');

  // Clean disconnects: carol (two namespaces), bob (alice gets "user left"),
  // alice.
  await disconnect(carolChat, carol);
  await sleep(50);
  await disconnect(bob);
  const [left] = await alice.next('user left');
  log(`alice got user left ${JSON.stringify(left)}`);
  await sleep(50);
  await disconnect(aliceChat, alice);
  await sleep(100);
  await new Promise((resolve) => io.close(resolve));
}

// polling: socket.io 4.8 with HTTP long-polling. dana has the default
// transports (polling, then the upgrade to WebSocket); erin has transports:
// ["polling"] (Node's XHR, xmlhttprequest-ssl, which sends no
// Accept-Encoding) and never upgrades; fred polls with Node's fetch()
// (transports: [Fetch]), which sends Accept-Encoding: gzip, deflate, so the
// server gzips the one response over httpCompression's default threshold
// of 1 KB (his "history").
async function polling() {
  const { Server } = require('socket.io');
  const { Manager } = require('socket.io-client');
  // socket.io-client's CommonJS build replaces its exports with io(), so
  // Fetch is taken from its engine.io-client.
  const { Fetch } = require(require.resolve('engine.io-client', { paths: [require.resolve('socket.io-client')] }));
  const httpServer = http.createServer();
  const history = {
    to: 'fred',
    lines: Array.from({ length: 24 }, (_, i) => `${String(i + 1).padStart(2, '0')} earlier message of the room, kept for the newcomer`),
  };
  const io = new Server(httpServer, { pingInterval: 500, pingTimeout: 1000, serveClient: false });
  const users = chatServer(io, { uploadTo: 'all', history });
  await listen(httpServer);

  const dana = new Client('dana', new Manager(base, { reconnection: false }).socket('/'), chatEvents);
  await dana.connected;
  // Wait for the upgrade, so that what follows goes over the WebSocket.
  const engine = dana.socket.io.engine;
  if (engine.transport.name !== 'websocket') await within(5000, 'dana upgrade', new Promise((resolve) => engine.once('upgrade', resolve)));
  await sleep(50);
  dana.socket.emit('add user', 'dana');
  await dana.next('login');
  await sleep(50);

  const erinManager = new Manager(base, { transports: ['polling'], reconnection: false });
  const erin = new Client('erin', erinManager.socket('/'), chatEvents);
  await erin.connected;
  erin.socket.emit('add user', 'erin');
  await Promise.all([erin.next('login'), dana.next('user joined')]);
  await sleep(50);

  const [ackReply] = await Promise.all([erin.emitAck('new message', 'hi over polling'), dana.next('new message')]);
  log(`erin's ack: ${JSON.stringify(ackReply)}`);
  await sleep(50);
  dana.socket.emit('new message', 'hello erin, über WebSocket');
  await erin.next('new message');
  await sleep(50);

  // A binary attachment over polling: erin's POST carries 451-[...] and
  // "b" + base64 in one payload; the server sends the file to everyone:
  // a "b..." packet in erin's poll response, a binary frame to dana.
  const [upAck] = await Promise.all([
    erin.emitAck('upload', { name: 'b.bin', data: Buffer.from([0x00, 0x01, 0x02, 0x03, 0xfe, 0xff]) }),
    every([dana, erin], 'upload'),
  ]);
  log(`upload ack ${JSON.stringify(upAck)}`);
  await sleep(50);

  // The server asks erin for an ack, over polling.
  const erinServer = users.get('erin');
  const pong = await within(5000, 'ping? ack', erinServer.timeout(1000).emitWithAck('ping?', 'still polling?'));
  log(`server got ${JSON.stringify(pong)} from erin`);
  await sleep(50);

  // Namespace /chat over erin's polling connection.
  const erinChat = new Client('erin/chat', erinManager.socket('/chat'), chatEvents);
  await erinChat.connected;
  erinChat.socket.emit('chat message', 'erin on /chat');
  await erinChat.next('chat message');
  await sleep(50);

  // fred polls with fetch(): his history (over 1 KB) comes back gzipped.
  const fred = new Client('fred', new Manager(base, { transports: [Fetch], reconnection: false }).socket('/'), chatEvents);
  await fred.connected;
  fred.socket.emit('add user', 'fred');
  const [[hist]] = await Promise.all([fred.next('history'), fred.next('login'), dana.next('user joined'), erin.next('user joined')]);
  log(`fred got ${hist.length} lines of history`);
  await sleep(50);
  await disconnect(fred);
  await Promise.all([dana.next('user left'), erin.next('user left')]);

  // A heartbeat or two over polling and over the WebSocket.
  await sleep(600);

  await disconnect(erinChat, erin);
  await dana.next('user left');
  await sleep(50);
  await disconnect(dana);
  await sleep(100);
  await new Promise((resolve) => io.close(resolve));
}

// v2: socket.io 2.5 server and socket.io-client 2.5 (Engine.IO v3). gina
// starts on polling and upgrades to WebSocket; hank has transports:
// ["polling"] and stays there, so his binary attachment goes over polling
// in v3's binary payload format (the client supports binary: XHR2). In v3
// the clients send the pings and the server answers.
async function v2() {
  const Server = require('socket.io-v2');
  const ioc = require('socket.io-client-v2');
  const httpServer = http.createServer();
  const io = Server(httpServer, { pingInterval: 500, pingTimeout: 1000, serveClient: false });
  const users = chatServer(io, { uploadTo: 'all' });
  await listen(httpServer);

  const ginaManager = new ioc.Manager(base, { reconnection: false });
  const gina = new Client('gina', ginaManager.socket('/'), chatEvents);
  await gina.connected;
  const engine = ginaManager.engine;
  if (engine.transport.name !== 'websocket') await within(5000, 'gina upgrade', new Promise((resolve) => engine.once('upgrade', resolve)));
  await sleep(50);
  gina.socket.emit('add user', 'gina');
  await gina.next('login');
  await sleep(50);

  const hankManager = new ioc.Manager(base, { transports: ['polling'], reconnection: false });
  const hank = new Client('hank', hankManager.socket('/'), chatEvents);
  await hank.connected;
  hank.socket.emit('add user', 'hank');
  await Promise.all([hank.next('login'), gina.next('user joined')]);
  await sleep(50);

  const [ackReply] = await Promise.all([gina.emitAck('new message', 'hello hank, 你好'), hank.next('new message')]);
  log(`gina's ack: ${JSON.stringify(ackReply)}`);
  await sleep(50);
  hank.socket.emit('new message', 'hi gina, still on polling');
  await gina.next('new message');
  await sleep(50);

  // The server asks gina for an ack (socket.io 2: a callback, no timeout).
  const pong = await within(5000, 'ping? ack', new Promise((resolve) => users.get('gina').emit('ping?', 'are you there?', resolve)));
  log(`server got ${JSON.stringify(pong)} from gina`);
  await sleep(50);

  // Binary over the WebSocket: gina's 451-[...] and a frame 04 68 65 6c 6c
  // 6f (v3 binary frames start with the packet type 4); the server sends it
  // to both, so hank's poll gets it in a binary payload.
  const [upAck] = await Promise.all([
    gina.emitAck('upload', { name: 'a.txt', data: Buffer.from('hello') }),
    every([gina, hank], 'upload'),
  ]);
  log(`gina's upload ack ${JSON.stringify(upAck)}`);
  await sleep(50);
  // Binary over polling: hank's POST is a v3 binary payload.
  const [upAck2] = await Promise.all([
    hank.emitAck('upload', { name: 'b.bin', data: Buffer.from([0x00, 0x01, 0x02, 0x03, 0xfe, 0xff]) }),
    every([gina, hank], 'upload'),
  ]);
  log(`hank's upload ack ${JSON.stringify(upAck2)}`);
  await sleep(50);

  // Namespace /chat over gina's WebSocket.
  const ginaChat = new Client('gina/chat', ginaManager.socket('/chat'), chatEvents);
  await ginaChat.connected;
  ginaChat.socket.emit('chat message', 'gina on /chat');
  await ginaChat.next('chat message');
  await sleep(50);

  // Heartbeats (from the clients, in v3).
  await sleep(700);

  await disconnect(hank);
  await gina.next('user left');
  await sleep(50);
  await disconnect(ginaChat, gina);
  await sleep(100);
  await new Promise((resolve) => io.close(resolve));
}

// The socket.io tutorial's page (https://socket.io/docs/v4/tutorial/), with
// the client bundle the server serves itself.
const tutorialPage = `<!DOCTYPE html>
<html>
  <head>
    <meta name="viewport" content="width=device-width,initial-scale=1.0">
    <title>Socket.IO chat</title>
    <link rel="icon" href="data:,">
    <style>
      body { margin: 0; padding-bottom: 3rem; font-family: -apple-system, BlinkMacSystemFont, "Segoe UI", Roboto, Helvetica, Arial, sans-serif; }
      #form { background: rgba(0, 0, 0, 0.15); padding: 0.25rem; position: fixed; bottom: 0; left: 0; right: 0; display: flex; height: 3rem; box-sizing: border-box; backdrop-filter: blur(10px); }
      #input { border: none; padding: 0 1rem; flex-grow: 1; border-radius: 2rem; margin: 0.25rem; }
      #input:focus { outline: none; }
      #form > button { background: #333; border: none; padding: 0 1rem; margin: 0.25rem; border-radius: 3px; outline: none; color: #fff; }
      #messages { list-style-type: none; margin: 0; padding: 0; }
      #messages > li { padding: 0.5rem 1rem; }
      #messages > li:nth-child(odd) { background: #efefef; }
    </style>
  </head>
  <body>
    <ul id="messages"></ul>
    <form id="form" action="">
      <input id="input" autocomplete="off" /><button>Send</button>
    </form>
    <script src="/socket.io/socket.io.js"></script>
    <script>
      const socket = io();
      window.socket = socket;

      const form = document.getElementById('form');
      const input = document.getElementById('input');
      const messages = document.getElementById('messages');

      form.addEventListener('submit', (e) => {
        e.preventDefault();
        if (input.value) {
          socket.emit('chat message', input.value);
          input.value = '';
        }
      });

      socket.on('chat message', (msg) => {
        const item = document.createElement('li');
        item.textContent = msg;
        messages.appendChild(item);
        window.scrollTo(0, document.body.scrollHeight);
      });
    </script>
  </body>
</html>
`;

// The browser's three messages (browser/main.go types the same), and the
// node client's answer to the last.
const browserSays = ['hello from chromium', 'ça va? 你好 🙂', 'third & last <message>'];
const nodeSays = 'hello chromium, from node';

// chromium: socket.io 4.8 serving the tutorial page and its client bundle
// on the same port; a node client (WebSocket only) joins first, then
// BROWSER (headless Chromium through chromedp) loads the page, which polls
// and then upgrades, and types the messages; the node client answers the
// last one, and the browser waits to see the answer before its tab closes.
async function chromium() {
  const { Server } = require('socket.io');
  const { Manager } = require('socket.io-client');
  const browserPath = process.env.BROWSER;
  if (!browserPath) fail('BROWSER is not set');
  const httpServer = http.createServer((req, res) => {
    if (req.method === 'GET' && req.url === '/') {
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
      res.end(tutorialPage);
      return;
    }
    if (!req.url.startsWith('/socket.io/')) {
      res.writeHead(404, { 'Content-Type': 'text/plain' });
      res.end('not found\n');
    }
  });
  const io = new Server(httpServer, { pingInterval: 1000, pingTimeout: 1000 });
  chatServer(io);
  await listen(httpServer);

  const node = new Client('node', new Manager(base, { transports: ['websocket'], reconnection: false }).socket('/'), chatEvents);
  await node.connected;
  await sleep(50);

  const browser = spawn(browserPath, ['-mode', 'socketio', `${base}/`], { stdio: ['ignore', 'inherit', 'inherit'] });
  const exited = new Promise((resolve) => browser.once('exit', resolve));
  for (const text of browserSays) {
    // The first waits for Chromium to start and load the page.
    const [msg] = await node.next('chat message', 60000);
    if (msg !== text) fail(`node got ${JSON.stringify(msg)}, want ${JSON.stringify(text)}`);
  }
  node.socket.emit('chat message', nodeSays);
  await node.next('chat message');
  const code = await exited;
  if (code !== 0) fail(`browser exited with ${code}`);
  await sleep(200);
  await disconnect(node);
  await sleep(100);
  await new Promise((resolve) => io.close(resolve));
}

const scenarios = { ws: wsOnly, polling, v2, chromium };

if (!scenarios[scenario]) fail(`unknown scenario (want one of ${Object.keys(scenarios).join(', ')})`);
scenarios[scenario]().then(
  () => {
    clearTimeout(watchdog);
    log('done');
    // Nothing should be left, but a client timer must not keep the capture
    // running.
    setTimeout(() => process.exit(0), 100).unref();
  },
  (err) => fail(err.stack || String(err)),
);
