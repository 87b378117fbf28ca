package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"time"

	"github.com/chatsniff/chatsniff/chat"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// Ports of workerman-chat: the WebSocket gateway and the web page.
const (
	wsPort   = 7272
	httpPort = 55151
)

// Pacing of the simulated chat, in capture time.
const (
	// sayGap is the mean time between two things happening in the chat.
	sayGap = 150 * time.Millisecond
	// joinGap is the mean time between connections opening: faster than
	// says, since browsers come in bursts (all of them when a server restarts).
	joinGap = 40 * time.Millisecond
	// pingInterval is workerman-chat's keep-alive period (room protocol).
	pingInterval = 10 * time.Second
)

// How often things happen, per say or per connection.
const (
	hugeMin        = 65536
	hugeMax        = 300_000
	privatePercent = 5  // says to one person
	fragPercent    = 3  // client says split into several frames
	pingPercent    = 10 // of fragmented says, with a ping between fragments
	closePercent   = 80 // connections that end with a close frame rather than a bare FIN
	wsPingPermille = 3  // steps where a client sends a WebSocket ping
	binaryPermille = 3  // steps where a client sends a binary message
	fragMaxFrames  = 4  // a fragmented message has 2 to this many frames
	serverDeflate  = 64 // the server compresses payloads from this size on, as servers skip tiny ones
	clientAddrs    = 64 // IPv4 client addresses: 127.0.0.1 and 127.1.0.x
	firstEphemeral = 32768
	lastEphemeral  = 60999 // Linux's default ip_local_port_range
	gatewayProcs   = 4     // GatewayWorker processes, part of each client_id
	// actsPerChurn is the least chat between a connection leaving and the
	// next one opening (after the first -alive): a small capture then holds
	// fewer than -conns connections rather than nothing but logins.
	actsPerChurn = 4
)

// gen is the state of one run: the simulated chat and the packets it makes.
type gen struct {
	o    options
	rng  *rand.Rand
	pw   *pcapgo.Writer
	link layers.LinkType
	now  int64 // capture time in ns since the epoch
	err  error // the first write error; everything stops after it

	pkt     []byte // the packet being built
	written int64  // file bytes so far
	exp     *Expected

	corpus string
	page   []byte // the chat page's HTTP response

	alive   []*conn
	rooms   []*room
	opened  int                     // WebSocket connections opened so far
	conns   int                     // TCP connections so far, page loads included
	ports   [clientAddrs + 1]uint16 // the last port each client address (::1 last) handed out
	inUse   map[uint32]struct{}     // client address and port of open connections
	gateway [gatewayProcs]uint32    // each gateway process's last connection id
	nextUID int64

	pend []sideRef // sides with pending bytes
	acks []sideRef // sides that may owe an ACK

	// Scratch buffers, reused so that steady state allocates little.
	frame   []byte // frames of one message
	bcast   []byte // a broadcast frame, the same for every recipient
	msg     bytes.Buffer
	enc     *json.Encoder
	php     []byte
	noise   []byte // binary and ping payloads
	pingMsg []byte
	pongMsg []byte

	keys     io.Writer // the key log, with -tls
	pool     deflaterPool
	nextPing int64
	acts     int // acts since the last connection opened
}

// user is the chat user on a WebSocket connection.
type user struct {
	name     string // as typed in the page
	escName  string // htmlspecialchars(name), as the server keeps it
	clientID string // room protocol
	uid      int64  // uid protocol
	room     *room
	roomIdx  int // index in room.members
	aliveIdx int // index in gen.alive
}

// room is a chat room; the uid protocol has a single one for everybody.
type room struct {
	id      int
	members []*conn
}

// generate writes a capture to w and returns what it holds.
func generate(w io.Writer, o options) (*Expected, error) {
	g := &gen{
		o:       o,
		rng:     rand.New(rand.NewPCG(o.Seed, 0x63686174736e6966)), // "chatsnif"
		pw:      pcapgo.NewWriter(w),
		link:    linkTypes[o.Link],
		now:     o.Start.UnixNano(),
		pkt:     make([]byte, 0, maxPacket),
		nextUID: 783654164,
		inUse:   map[uint32]struct{}{},
	}
	g.keys = o.keyLog
	g.enc = json.NewEncoder(&g.msg)
	g.enc.SetEscapeHTML(false) // the page's JSON and PHP's leave <, > and & alone
	g.exp = &Expected{Generator: Params{
		Size: o.Size, Messages: o.Messages, Conns: o.Conns, Alive: o.Alive, Rooms: o.Rooms,
		Protocol: o.Protocol, MSS: o.MSS, Deflate: o.Deflate, Link: o.Link, Seed: o.Seed,
		IPv6: o.IPv6, HTTP: o.HTTP, Huge: o.Huge, Short: o.Short, Start: o.Start.UTC().Format(time.RFC3339Nano),
	}}
	g.corpus = makeCorpus(g.rng)
	g.page = pageResponse(pageBody(6000))
	for i := range g.ports {
		g.ports[i] = uint16(firstEphemeral + g.rng.IntN(lastEphemeral-firstEphemeral))
	}
	nrooms := o.Rooms
	if o.Protocol == "uid" {
		nrooms = 1
	}
	for i := range nrooms {
		g.rooms = append(g.rooms, &room{id: i + 1})
	}
	g.pingMsg = g.serverJSON(chat.RoomPing{Type: chat.TypePing})
	g.pingMsg = append([]byte(nil), g.pingMsg...)
	g.pongMsg = append([]byte(nil), g.clientJSON(chat.RoomPong{Type: chat.TypePong})...)
	g.nextPing = g.now + int64(pingInterval)

	if err := g.pw.WriteFileHeader(snapLen, g.link); err != nil {
		return nil, fmt.Errorf("write file header: %w", err)
	}
	g.written = 24
	g.simulate()
	if g.err != nil {
		return nil, g.err
	}
	g.exp.FileBytes = g.written
	g.exp.LastTime = time.Unix(0, g.now).UTC().Format(time.RFC3339Nano)
	return g.exp, nil
}

// advance moves the capture clock on by d, at least a microsecond so that
// packets are in order at pcap's resolution.
func (g *gen) advance(d time.Duration) {
	g.now += max(int64(d), int64(time.Microsecond))
}

// pause moves the clock on by an exponential time of mean d: events of a
// chat come as a Poisson process.
func (g *gen) pause(d time.Duration) {
	g.advance(time.Duration(g.rng.ExpFloat64() * float64(d)))
}

// progress says how far the run is towards -size or -messages, from 0 to 1.
func (g *gen) progress() float64 {
	var p float64
	if g.o.Size > 0 {
		p = float64(g.written) / float64(g.o.Size)
	}
	if g.o.Messages > 0 {
		p = max(p, float64(g.exp.Messages.Total)/float64(g.o.Messages))
	}
	return p
}

// simulate runs the chat until the size or message count is reached, then
// closes every connection still open.
//
// The first -alive connections open at once (as when a server restarts and
// its browsers reconnect); the others open evenly over the run, each one
// replacing a connection picked at random, so that connections live for
// varied times and about -alive of them are open at any moment. At least
// actsPerChurn acts come between two replacements.
func (g *gen) simulate() {
	for g.err == nil {
		p := g.progress()
		if p >= 1 {
			break
		}
		target := g.o.Alive + int(math.Ceil(float64(g.o.Conns-g.o.Alive)*p))
		switch {
		case len(g.alive) == 0 || g.opened < min(target, g.o.Conns) && (g.opened < g.o.Alive || g.acts >= actsPerChurn):
			g.acts = 0
			if len(g.alive) >= g.o.Alive {
				g.pause(sayGap)
				g.close(g.alive[g.rng.IntN(len(g.alive))])
				g.endStep()
			}
			g.pause(joinGap)
			g.open()
		case g.o.Protocol == "room" && g.now >= g.nextPing:
			g.pingRound()
			g.nextPing = g.now + int64(pingInterval)
		default:
			g.pause(sayGap)
			g.act(g.alive[g.rng.IntN(len(g.alive))])
			g.acts++
		}
		g.endStep()
	}
	for len(g.alive) > 0 && g.err == nil {
		g.pause(joinGap)
		g.close(g.alive[g.rng.IntN(len(g.alive))])
		g.endStep()
	}
}

// newConn makes a TCP connection from a loopback client address to port.
func (g *gen) newConn(port uint16, v6 bool, addr int) *conn {
	g.conns++
	c := &conn{v6: v6}
	cl, sv := &c.ep[client], &c.ep[server]
	if v6 {
		cl.addr[15], sv.addr[15] = 1, 1 // ::1
		addr = clientAddrs
	} else {
		copy(sv.addr[:], []byte{127, 0, 0, 1})
		if addr == 0 {
			copy(cl.addr[:], []byte{127, 0, 0, 1})
		} else {
			copy(cl.addr[:], []byte{127, 1, 0, byte(addr)})
		}
	}
	// Each address hands out ephemeral ports in turn, as Linux does for
	// connect(), so four-tuples only repeat after a long while, and never
	// while the connection that had it is open. -alive is bounded below the
	// number of ports, so a free one is always found.
	p := g.ports[addr]
	for {
		p += 1 + uint16(g.rng.IntN(3))
		if p < firstEphemeral || p > lastEphemeral {
			p = firstEphemeral
		}
		if _, used := g.inUse[portKey(addr, p)]; !used {
			break
		}
	}
	g.ports[addr] = p
	g.inUse[portKey(addr, p)] = struct{}{}
	c.addrIdx = addr
	cl.port, sv.port = p, port
	cl.seq, sv.seq = g.rng.Uint32(), g.rng.Uint32()
	cl.ipID, sv.ipID = uint16(g.rng.Uint32()), uint16(g.rng.Uint32())
	cl.tsOff, sv.tsOff = g.rng.Uint32(), g.rng.Uint32()
	g.exp.TCPConnections = g.conns
	return c
}

// portKey names a client address and port in gen.inUse.
func portKey(addr int, port uint16) uint32 { return uint32(addr)<<16 | uint32(port) }

// release frees c's client port once c is closed.
func (g *gen) release(c *conn) { delete(g.inUse, portKey(c.addrIdx, c.ep[client].port)) }

func (g *gen) handshake(c *conn) {
	g.packet(c, client, flagSYN, nil)
	g.packet(c, server, flagSYN|flagACK, nil)
	g.packet(c, client, flagACK, nil)
}

// host is how the browser names the server in Host and Origin.
func host(c *conn, port int) string {
	if c.v6 {
		return fmt.Sprintf("[::1]:%d", port)
	}
	return fmt.Sprintf("127.0.0.1:%d", port)
}

// open connects a new browser: maybe a page load first, then the TCP and
// WebSocket handshakes and the login with the server's answers.
func (g *gen) open() {
	v6 := g.rng.Float64() < g.o.IPv6
	addr := g.rng.IntN(clientAddrs)
	ua := userAgents[g.rng.IntN(len(userAgents))]
	rm := g.rooms[g.rng.IntN(len(g.rooms))]
	if g.rng.Float64() < g.o.HTTP {
		g.pageLoad(v6, addr, ua, rm.id)
	}

	c := g.newConn(wsPort, v6, addr)
	g.opened++
	g.exp.WebSocketConnections = g.opened
	g.handshake(c)
	if g.o.TLS {
		g.tlsHandshake(c)
	}
	key := newKey(g.rng)
	g.write(c, client, upgradeRequest(host(c, wsPort), "http://"+host(c, httpPort), key, ua))
	g.write(c, server, upgradeResponse(key, g.o.Deflate))
	if g.o.Deflate {
		c.ep[client].defl = g.pool.get()
		c.ep[server].defl = g.pool.get()
	}

	u := &c.user
	u.name = names[g.rng.IntN(len(names))]
	u.escName = chat.HTMLSpecialChars(u.name)
	u.aliveIdx = len(g.alive)
	g.alive = append(g.alive, c)
	g.exp.MaxAlive = max(g.exp.MaxAlive, len(g.alive))
	now := g.clock()

	if g.o.Protocol == "uid" {
		g.nextUID += 1 + int64(g.rng.IntN(50000))
		u.uid = g.nextUID
		g.clientText(c, chat.TypeLogin, g.clientJSON(chat.UIDLogin{Type: chat.TypeLogin, Name: u.name}))
		g.join(c, rm)
		list := chat.UIDUserList{Type: chat.TypeUserList, UserList: make([]chat.User, 0, len(rm.members))}
		for _, m := range rm.members {
			list.UserList = append(list.UserList, chat.User{UID: m.user.uid, Name: m.user.escName})
		}
		g.serverText(c, chat.TypeUserList, g.serverJSON(list))
		g.broadcast(rm.members, chat.TypeLogin, g.serverJSON(chat.UIDLoginNotice{
			Type: chat.TypeLogin, UID: u.uid, Name: u.escName, Time: now}))
		return
	}

	proc := g.rng.IntN(gatewayProcs)
	g.gateway[proc]++
	u.clientID = fmt.Sprintf("7f000001%04x%08x", 2300+proc, g.gateway[proc])
	// The page sends room_id as a string (from the URL); other clients a number.
	roomID := chat.NumberID(int64(rm.id))
	if g.rng.IntN(2) == 0 {
		roomID = chat.StringID(fmt.Sprint(rm.id))
	}
	g.clientText(c, chat.TypeLogin, g.clientJSON(chat.RoomLogin{Type: chat.TypeLogin, ClientName: u.name, RoomID: roomID}))
	// The room hears of the newcomer before it joins; the newcomer gets the
	// same notice with the room's list, itself included. The notice's name
	// is escaped twice, the list's once, as workerman-chat does.
	notice := chat.RoomLoginNotice{Type: chat.TypeLogin, ClientID: u.clientID,
		ClientName: chat.HTMLSpecialChars(u.escName), Time: now}
	g.broadcast(rm.members, chat.TypeLogin, g.serverJSON(notice))
	g.join(c, rm)
	notice.ClientList = make(map[string]string, len(rm.members))
	for _, m := range rm.members {
		notice.ClientList[m.user.clientID] = m.user.escName
	}
	g.serverText(c, chat.TypeLogin, g.serverJSON(notice))
}

func (g *gen) join(c *conn, rm *room) {
	c.user.room = rm
	c.user.roomIdx = len(rm.members)
	rm.members = append(rm.members, c)
}

// pageLoad is a browser fetching the chat page before it connects: a whole
// HTTP connection on port 55151, closed by the client.
func (g *gen) pageLoad(v6 bool, addr int, ua string, roomID int) {
	c := g.newConn(httpPort, v6, addr)
	g.handshake(c)
	g.write(c, client, pageRequest(host(c, httpPort), ua, roomID))
	g.write(c, server, g.page)
	g.flush(c, server)
	g.packet(c, client, flagACK, nil)
	g.fin(c, client)
	g.release(c)
}

// fin closes c from side first: FIN, the peer's FIN (its ACK riding along),
// and the last ACK.
func (g *gen) fin(c *conn, first int) {
	g.packet(c, first, flagFIN|flagACK, nil)
	g.packet(c, 1-first, flagFIN|flagACK, nil)
	g.packet(c, first, flagACK, nil)
	c.ep[client].ackDue, c.ep[server].ackDue = false, false
}

// clock is the server's date('Y-m-d H:i:s') now.
func (g *gen) clock() string {
	return time.Unix(0, g.now).UTC().Format(chat.TimeLayout)
}

// clientJSON encodes a client message as the page's JSON.stringify would:
// UTF-8 as it is. The result is valid until the next encoding.
func (g *gen) clientJSON(v any) []byte {
	g.msg.Reset()
	if err := g.enc.Encode(v); err != nil {
		// Only the chat types are encoded here; they cannot fail.
		panic(fmt.Sprintf("encode %T: %v", v, err))
	}
	return bytes.TrimSuffix(g.msg.Bytes(), []byte("\n"))
}

// serverJSON encodes a server message as PHP's json_encode does. The result
// is valid until the next encoding.
func (g *gen) serverJSON(v any) []byte {
	g.php = chat.AppendPHPEscaped(g.php[:0], g.clientJSON(v))
	return g.php
}

// clientText sends a chat message of type typ from c's browser.
func (g *gen) clientText(c *conn, typ string, msg []byte) {
	g.exp.chat(client, typ, 1)
	g.message(c, client, opText, msg, 1, false)
}

// serverText sends a chat message of type typ to c.
func (g *gen) serverText(c *conn, typ string, msg []byte) {
	g.exp.chat(server, typ, 1)
	g.message(c, server, opText, msg, 1, false)
}

// broadcast sends the same text message to each of to. Without deflate the
// frame is the same for all of them and is built once.
func (g *gen) broadcast(to []*conn, typ string, msg []byte) {
	if len(to) == 0 {
		return
	}
	g.exp.chat(server, typ, len(to))
	if g.o.Deflate {
		for _, c := range to {
			g.message(c, server, opText, msg, 1, false)
		}
		return
	}
	g.bcast = appendFrame(g.bcast[:0], true, false, opText, false, 0, msg)
	for _, c := range to {
		g.exp.message(server, opText, len(msg), 1, false)
		g.exp.Frames.add(server, 1)
		g.exp.FrameBytes.add(server, len(g.bcast))
		g.write(c, server, g.bcast)
	}
}

// message sends a data message from side from of c in frames frames,
// compressed when permessage-deflate was negotiated (the server leaves tiny
// payloads alone, which RFC 7692 allows). With ping, the client sends a
// ping between the first two fragments, which RFC 6455 section 5.4 allows,
// and the server's pong comes back before the rest.
func (g *gen) message(c *conn, from int, op byte, payload []byte, frames int, ping bool) {
	data, rsv1 := payload, false
	if d := c.ep[from].defl; d != nil && (from == client || len(payload) >= serverDeflate) {
		var err error
		if data, err = d.compress(payload); err != nil {
			g.err = err
			return
		}
		rsv1 = true
	}
	frames = max(1, min(frames, len(data)))
	g.exp.message(from, op, len(payload), frames, rsv1)
	g.exp.Frames.add(from, frames)

	f := g.frame[:0]
	mark := 0 // end of the frames before the ping
	for i := range frames {
		// Fragments of random sizes, none empty.
		n := len(data)
		if i < frames-1 {
			n = 1 + g.rng.IntN(len(data)-(frames-1-i))
		}
		frameOp := byte(opContinuation)
		if i == 0 {
			frameOp = op
		}
		before := len(f)
		f = appendFrame(f, i == frames-1, rsv1 && i == 0, frameOp, from == client, g.rng.Uint32(), data[:n])
		g.exp.FrameBytes.add(from, len(f)-before)
		data = data[n:]
		if i == 0 {
			mark = len(f)
		}
	}
	g.frame = f
	if !ping || frames < 2 {
		g.write(c, from, f)
		return
	}
	g.write(c, from, f[:mark])
	p := g.noisePayload(8 + g.rng.IntN(20))
	g.control(c, client, opPing, p)
	g.control(c, server, opPong, p)
	g.write(c, from, f[mark:])
}

// control sends a control frame (at most 125 bytes of payload, never
// compressed or fragmented).
func (g *gen) control(c *conn, from int, op byte, payload []byte) {
	var buf [maxFrameHeader + 125]byte
	f := appendFrame(buf[:0], true, false, op, from == client, g.rng.Uint32(), payload)
	g.exp.message(from, op, len(payload), 1, false)
	g.exp.Frames.add(from, 1)
	g.exp.FrameBytes.add(from, len(f))
	g.write(c, from, f)
}

// noisePayload returns n random bytes, valid until the next call.
func (g *gen) noisePayload(n int) []byte {
	g.noise = g.noise[:0]
	for range n {
		g.noise = append(g.noise, byte(g.rng.Uint32()))
	}
	return g.noise
}

// contentLength picks a say's length: mostly short lines (-short percent of
// them), some paragraphs, some pastes that take many segments, and rarely
// one over 64 KiB.
func (g *gen) contentLength() int {
	if g.o.Huge > 0 && g.rng.IntN(g.o.Huge) == 0 {
		return hugeMin + g.rng.IntN(hugeMax-hugeMin)
	}
	long := 100 - g.o.Short
	pastes := long / 5 // 6 of 30 by default
	switch r := g.rng.IntN(100); {
	case r < pastes:
		return 600 + g.rng.IntN(7400)
	case r < long:
		return 80 + g.rng.IntN(520)
	default:
		return 3 + g.rng.IntN(77)
	}
}

// act is one thing a user does: mostly say something, sometimes something
// rarer that decoders must handle.
func (g *gen) act(c *conn) {
	switch r := g.rng.IntN(1000); {
	case r < wsPingPermille:
		// A WebSocket ping from the client, which the server pongs with the same payload.
		p := g.noisePayload(g.rng.IntN(16))
		g.control(c, client, opPing, p)
		g.control(c, server, opPong, p)
		return
	case r < wsPingPermille+binaryPermille:
		// Binary data, which workerman-chat ignores.
		g.message(c, client, opBinary, g.noisePayload(1+g.rng.IntN(2000)), 1, false)
		return
	}
	g.say(c)
}

// say is a user's message, to the room or to one person in it, and what
// the server relays.
func (g *gen) say(c *conn) {
	u := &c.user
	content := cut(g.rng, g.corpus, g.contentLength())
	var to *conn
	if rm := u.room; len(rm.members) > 1 && g.rng.IntN(100) < privatePercent {
		for to == nil || to == c {
			to = rm.members[g.rng.IntN(len(rm.members))]
		}
	}
	frames, ping := 1, false
	if len(content) >= 16 && g.rng.IntN(100) < fragPercent {
		frames = 2 + g.rng.IntN(fragMaxFrames-1)
		ping = g.rng.IntN(100) < pingPercent
	}
	now := g.clock()
	sc := chat.RelayedContent(content)

	if g.o.Protocol == "uid" {
		toUID := chat.StringID(chat.ToAll)
		if to != nil {
			toUID = chat.NumberID(to.user.uid)
		}
		g.exp.chat(client, chat.TypeSay, 1)
		g.message(c, client, opText, g.clientJSON(chat.UIDSay{Type: chat.TypeSay, ToUID: toUID, Content: content}), frames, ping)
		notice := g.serverJSON(chat.UIDSayNotice{Type: chat.TypeSay, FromUID: u.uid, ToUID: toUID, Content: sc, Time: now})
		if to != nil {
			g.serverText(to, chat.TypeSay, notice)
		} else {
			g.broadcast(u.room.members, chat.TypeSay, notice)
		}
		return
	}

	toID, toName := chat.ToAll, chat.ToAll
	if to != nil {
		toID, toName = to.user.clientID, to.user.escName
	}
	g.exp.chat(client, chat.TypeSay, 1)
	g.message(c, client, opText, g.clientJSON(chat.RoomSay{Type: chat.TypeSay, ToClientID: toID, ToClientName: toName, Content: content}), frames, ping)
	notice := chat.RoomSayNotice{Type: chat.TypeSay, FromClientID: u.clientID, FromClientName: u.escName,
		ToClientID: toID, Content: sc, Time: now}
	if to == nil {
		g.broadcast(u.room.members, chat.TypeSay, g.serverJSON(notice))
		return
	}
	// A private say goes to its target, and back to the sender as an echo.
	notice.Content = "<b>对你说: </b>" + sc
	g.serverText(to, chat.TypeSay, g.serverJSON(notice))
	notice.Content = "<b>你对" + chat.HTMLSpecialChars(toName) + "说: </b>" + sc
	g.serverText(c, chat.TypeSay, g.serverJSON(notice))
}

// pingRound is the server's keep-alive: {"type":"ping"} to every
// connection, each browser answering {"type":"pong"}.
func (g *gen) pingRound() {
	for _, c := range g.alive {
		g.serverText(c, chat.TypePing, g.pingMsg)
	}
	for _, c := range g.alive {
		g.advance(time.Duration(g.rng.IntN(200)) * time.Microsecond)
		g.clientText(c, chat.TypePong, g.pongMsg)
	}
}

// close ends c: mostly the browser's close frame, the server's 1000 in
// reply and its FIN (as workerman does), sometimes a bare FIN from a
// browser that went away; then the room hears of the logout.
func (g *gen) close(c *conn) {
	u := &c.user
	last := g.alive[len(g.alive)-1]
	g.alive[u.aliveIdx], last.user.aliveIdx = last, u.aliveIdx
	g.alive = g.alive[:len(g.alive)-1]
	rm := u.room
	lastm := rm.members[len(rm.members)-1]
	rm.members[u.roomIdx], lastm.user.roomIdx = lastm, u.roomIdx
	rm.members = rm.members[:len(rm.members)-1]

	g.flush(c, server)
	g.flush(c, client)
	if g.rng.IntN(100) < closePercent {
		code := []byte{0x03, 0xe9} // 1001 going away: the tab was closed
		if g.rng.IntN(2) == 0 {
			code = []byte{0x03, 0xe8, 'b', 'y', 'e'}
		}
		g.control(c, client, opClose, code)
		g.control(c, server, opClose, []byte{0x03, 0xe8})
		g.flush(c, client)
		g.flush(c, server)
		g.fin(c, server)
	} else {
		g.fin(c, client)
	}
	g.release(c)
	g.pool.put(c.ep[client].defl)
	g.pool.put(c.ep[server].defl)
	c.ep[client].defl, c.ep[server].defl = nil, nil

	now := g.clock()
	if g.o.Protocol == "uid" {
		g.broadcast(rm.members, chat.TypeLogout, g.serverJSON(chat.UIDLogout{Type: chat.TypeLogout, UID: u.uid, Time: now}))
		return
	}
	g.broadcast(rm.members, chat.TypeLogout, g.serverJSON(chat.RoomLogout{Type: chat.TypeLogout,
		FromClientID: u.clientID, FromClientName: u.escName, Time: now}))
}
