// The chat page: speaks the workerman-chat protocol named by config.js
// ("uid" or "room") to the WebSocket port it names. Everything the server
// sends is shown as text: its HTML escaping is undone for display, never
// handed to innerHTML, so no name or message can inject markup.
(function () {
  'use strict';

  var cfg = window.CHATSNIFF || { wsPort: 7272, protocol: 'room' };
  var room = cfg.protocol === 'room';
  var params = new URLSearchParams(location.search);
  var roomId = params.get('room_id') || '1';

  var $ = function (id) { return document.getElementById(id); };
  var ws = null;
  var nick = '';
  var me = null;            // my client_id (room) or uid (uid)
  var users = new Map();    // id -> display name, in arrival order
  var retry = 1000;

  // Server text is htmlspecialchars'd and nl2br'd: turn it back to text.
  var entities = { '&amp;': '&', '&lt;': '<', '&gt;': '>', '&quot;': '"', '&#039;': "'", '&#39;': "'" };
  function unescapeHTML(s) {
    return String(s == null ? '' : s).replace(/&(amp|lt|gt|quot|#0?39);/g, function (m) { return entities[m]; });
  }
  function serverText(s) {
    return unescapeHTML(String(s == null ? '' : s).replace(/<br \/>(\r\n|\n\r|\n|\r)?/g, '\n'));
  }

  function setStatus(text) { $('status').textContent = text; }

  function addLine(opts) {
    var li = document.createElement('li');
    if (opts.cls) li.className = opts.cls;
    if (opts.who) {
      var who = document.createElement('span');
      who.className = 'who';
      who.textContent = opts.who;
      li.appendChild(who);
    }
    if (opts.time) {
      var t = document.createElement('span');
      t.className = 'time';
      t.textContent = opts.time;
      li.appendChild(t);
    }
    var text = document.createElement('span');
    text.className = 'text';
    var content = String(opts.text == null ? '' : opts.text);
    // A private message starts with the server's "<b>...</b>" prefix: show
    // it in bold, as text.
    var m = /^<b>([\s\S]*?)<\/b>/.exec(content);
    if (m) {
      var b = document.createElement('b');
      b.textContent = serverText(m[1]);
      text.appendChild(b);
      content = content.slice(m[0].length);
    }
    text.appendChild(document.createTextNode(serverText(content)));
    li.appendChild(text);
    var list = $('messages');
    var atBottom = list.scrollTop + list.clientHeight >= list.scrollHeight - 4;
    list.appendChild(li);
    if (atBottom) list.scrollTop = list.scrollHeight;
  }

  function notice(text) { addLine({ cls: 'notice', text: text }); }

  function renderUsers() {
    var ul = $('users');
    var sel = $('to');
    var chosen = sel.value;
    ul.textContent = '';
    while (sel.options.length > 1) sel.remove(1);
    users.forEach(function (name, id) {
      var li = document.createElement('li');
      li.textContent = name;
      if (id === me) li.className = 'me';
      ul.appendChild(li);
      if (id !== me) {
        var o = document.createElement('option');
        o.value = id;
        o.textContent = name;
        sel.appendChild(o);
      }
    });
    sel.value = users.has(chosen) ? chosen : 'all';
    $('count').textContent = String(users.size);
  }

  function nameOf(id) { return users.has(id) ? users.get(id) : String(id); }

  function send(obj) {
    if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(obj));
  }

  function login() {
    me = null;
    users.clear();
    if (room) {
      var n = Number(roomId);
      send({ type: 'login', client_name: nick, room_id: String(n) === roomId ? n : roomId });
    } else {
      send({ type: 'login', name: nick });
    }
  }

  function onMessage(msg) {
    switch (msg.type) {
      case 'ping':
        send({ type: 'pong' });
        return;
      case 'user_list': // uid protocol, to the joiner
        users.clear();
        (msg.user_list || []).forEach(function (u) { users.set(String(u.uid), unescapeHTML(u.name)); });
        renderUsers();
        return;
      case 'login':
        if (room) {
          if (msg.client_list) {
            me = msg.client_id;
            users.clear();
            Object.keys(msg.client_list).forEach(function (id) { users.set(id, unescapeHTML(msg.client_list[id])); });
          } else {
            users.set(msg.client_id, unescapeHTML(unescapeHTML(msg.client_name)));
          }
          notice(nameOf(msg.client_id) + ' joined' + (msg.time ? ' at ' + msg.time : ''));
        } else {
          var uid = String(msg.uid);
          var name = unescapeHTML(msg.name);
          if (me === null && name === nick) me = uid;
          users.set(uid, name);
          notice(name + ' joined' + (msg.time ? ' at ' + msg.time : ''));
        }
        renderUsers();
        return;
      case 'logout':
        var gone = String(room ? msg.from_client_id : msg.uid);
        notice((room ? unescapeHTML(msg.from_client_name) : nameOf(gone)) + ' left');
        users.delete(gone);
        renderUsers();
        return;
      case 'say':
        var from = room ? unescapeHTML(msg.from_client_name) : nameOf(String(msg.from_uid));
        var to = String(room ? msg.to_client_id : msg.to_uid);
        var priv = to !== 'all';
        if (priv && !room) from += ' → ' + (to === me ? 'you' : nameOf(to));
        addLine({ cls: priv ? 'private' : '', who: from, time: msg.time, text: msg.content });
        return;
      default:
        // Unknown types are ignored, as workerman-chat's page does.
    }
  }

  function connect() {
    var host = location.hostname || '127.0.0.1';
    if (host.indexOf(':') >= 0 && host[0] !== '[') host = '[' + host + ']';
    // config.js names the scheme the WebSocket listener speaks (wss://
    // under serve --tls); without it, the page's own scheme is the guess.
    var scheme = cfg.wsScheme || (location.protocol === 'https:' ? 'wss://' : 'ws://');
    setStatus('connecting…');
    try {
      ws = new WebSocket(scheme + host + ':' + cfg.wsPort + '/');
    } catch (e) {
      setStatus('cannot connect: ' + e.message);
      return;
    }
    ws.onopen = function () {
      retry = 1000;
      setStatus('connected as ' + nick + (room ? ', room ' + roomId : ''));
      login();
    };
    ws.onmessage = function (e) {
      var msg;
      try { msg = JSON.parse(e.data); } catch (err) { return; }
      if (msg && typeof msg === 'object') onMessage(msg);
    };
    ws.onclose = function () {
      setStatus('disconnected; reconnecting in ' + Math.round(retry / 1000) + ' s');
      setTimeout(connect, retry);
      retry = Math.min(retry * 2, 10000);
    };
  }

  function say() {
    var text = $('msg').value;
    if (!text.trim()) return;
    var to = $('to').value;
    if (room) {
      send({ type: 'say', to_client_id: to, to_client_name: to === 'all' ? 'all' : nameOf(to), content: text });
    } else {
      send({ type: 'say', to_uid: to === 'all' ? 'all' : Number(to), content: text });
    }
    $('msg').value = '';
    $('msg').focus();
  }

  if (room) {
    var nav = $('rooms');
    for (var i = 1; i <= 4; i++) {
      var a = document.createElement('a');
      a.href = '?room_id=' + i;
      a.textContent = 'Room ' + i;
      if (String(i) === roomId) a.className = 'current';
      nav.appendChild(a);
    }
    nav.hidden = false;
  }

  $('login-form').addEventListener('submit', function (e) {
    e.preventDefault();
    nick = $('nick').value.trim();
    if (!nick) return;
    $('login').hidden = true;
    $('msg').focus();
    connect();
  });
  $('say-form').addEventListener('submit', function (e) { e.preventDefault(); say(); });
  $('msg').addEventListener('keydown', function (e) {
    if (e.key === 'Enter' && !e.shiftKey) { e.preventDefault(); say(); }
  });
})();
