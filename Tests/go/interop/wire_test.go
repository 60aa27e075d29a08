package interop

import (
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"sync"

	"google.golang.org/grpc"
)

// HTTP/2 frame types the suite watches for (RFC 9113, section 6).
const (
	frameSettings = 0x4
	framePing     = 0x6
	frameGoAway   = 0x7
	flagAck       = 0x1
)

// http2EnhanceYourCalm is the HTTP/2 error code a server closes a connection with when it
// finds the peer's load abusive.
const http2EnhanceYourCalm = 0xb

// clientPreface opens every HTTP/2 connection a client makes, before its first frame.
const clientPreface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

// goAway is a GOAWAY frame the server sent.
type goAway struct {
	lastStreamID uint32
	errorCode    uint32
	debugData    string
}

func (g goAway) String() string {
	return fmt.Sprintf("GOAWAY(last stream %d, %s, %q)", g.lastStreamID, http2ErrorName(g.errorCode), g.debugData)
}

func http2ErrorName(code uint32) string {
	names := map[uint32]string{0x0: "NO_ERROR", 0x1: "PROTOCOL_ERROR", 0x2: "INTERNAL_ERROR", http2EnhanceYourCalm: "ENHANCE_YOUR_CALM"}
	if name, ok := names[code]; ok {
		return name
	}
	return fmt.Sprintf("error code 0x%x", code)
}

// wireRecord is what crossed the connections of one watched client: how many connections it
// opened, the pings and SETTINGS frames (acks included) it sent, and every GOAWAY the server
// sent.
type wireRecord struct {
	mu           sync.Mutex
	connections  int
	pingsSent    int
	settingsSent int
	pingAcks     int
	goAways      []goAway
}

// controlFramesSent is how many PING and SETTINGS frames the client sent.
func (w *wireRecord) controlFramesSent() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.pingsSent + w.settingsSent
}

func (w *wireRecord) snapshot() (connections, pingsSent, pingAcks int, goAways []goAway) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.connections, w.pingsSent, w.pingAcks, append([]goAway(nil), w.goAways...)
}

// dialOption makes grpc-go dial through a connection that records its frames in w.
func (w *wireRecord) dialOption() grpc.DialOption {
	return grpc.WithContextDialer(func(ctx context.Context, address string) (net.Conn, error) {
		conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", address)
		if err != nil {
			return nil, err
		}
		w.mu.Lock()
		w.connections++
		w.mu.Unlock()
		watched := &watchedConn{Conn: conn}
		watched.outbound = frameScanner{skip: len(clientPreface), onFrame: w.sawOutbound}
		watched.inbound = frameScanner{onFrame: w.sawInbound}
		return watched, nil
	})
}

func (w *wireRecord) sawOutbound(kind, flags byte, _ []byte) {
	w.mu.Lock()
	defer w.mu.Unlock()
	switch {
	case kind == framePing && flags&flagAck == 0:
		w.pingsSent++
	case kind == frameSettings:
		w.settingsSent++
	}
}

func (w *wireRecord) sawInbound(kind, flags byte, payload []byte) {
	w.mu.Lock()
	defer w.mu.Unlock()
	switch {
	case kind == framePing && flags&flagAck != 0:
		w.pingAcks++
	case kind == frameGoAway && len(payload) >= 8:
		w.goAways = append(w.goAways, goAway{
			lastStreamID: binary.BigEndian.Uint32(payload[0:4]) & 0x7fffffff,
			errorCode:    binary.BigEndian.Uint32(payload[4:8]),
			debugData:    string(payload[8:]),
		})
	}
}

// watchedConn passes every byte through and shows each direction to a frameScanner.
type watchedConn struct {
	net.Conn
	readMu, writeMu   sync.Mutex
	inbound, outbound frameScanner
}

func (c *watchedConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	c.readMu.Lock()
	c.inbound.scan(b[:n])
	c.readMu.Unlock()
	return n, err
}

func (c *watchedConn) Write(b []byte) (int, error) {
	n, err := c.Conn.Write(b)
	c.writeMu.Lock()
	c.outbound.scan(b[:n])
	c.writeMu.Unlock()
	return n, err
}

// frameScanner splits one direction of an HTTP/2 connection into frames as its bytes pass,
// keeping the payloads of PING and GOAWAY frames (small) and skipping every other payload.
type frameScanner struct {
	skip    int // bytes still to pass over: the preface, or a payload not kept
	header  []byte
	kind    byte
	flags   byte
	want    int // payload bytes of a kept frame still to come
	payload []byte
	onFrame func(kind, flags byte, payload []byte)
}

func (s *frameScanner) scan(b []byte) {
	for len(b) > 0 {
		switch {
		case s.skip > 0:
			n := min(s.skip, len(b))
			s.skip -= n
			b = b[n:]
		case s.want > 0:
			n := min(s.want, len(b))
			s.payload = append(s.payload, b[:n]...)
			s.want -= n
			b = b[n:]
			if s.want == 0 {
				s.onFrame(s.kind, s.flags, s.payload)
			}
		default:
			n := min(9-len(s.header), len(b))
			s.header = append(s.header, b[:n]...)
			b = b[n:]
			if len(s.header) == 9 {
				s.startFrame()
			}
		}
	}
}

func (s *frameScanner) startFrame() {
	length := int(s.header[0])<<16 | int(s.header[1])<<8 | int(s.header[2])
	s.kind, s.flags = s.header[3], s.header[4]
	s.header = s.header[:0]
	s.payload = s.payload[:0]
	if s.kind != framePing && s.kind != frameGoAway {
		s.onFrame(s.kind, s.flags, nil)
		s.skip = length
		return
	}
	s.want = length
	if length == 0 {
		s.onFrame(s.kind, s.flags, nil)
	}
}

func min(a, b int) int {
	if a < b {
		return a
	}
	return b
}
