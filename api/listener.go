package api

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/textproto"
	"strconv"
	"sync"

	"github.com/doorstep-dev/doorstep"
)

// Listener wraps ln so that the answers net/http's server writes by itself
// are problem+json like every other error. The server refuses some
// requests before any handler runs, and has no hook to change how: a
// header value with control characters (an Idempotency-Key with a NUL, say),
// a malformed header name or Host header (400), headers beyond
// MaxHeaderBytes (431), an unknown transfer coding (501). It writes these
// as text/plain, in one write straight to the connection, in a fixed form
// ("HTTP/1.1 400 Bad Request: invalid header value" then exactly
// "Content-Type: text/plain; charset=utf-8" and "Connection: close").
// The connections of the returned listener recognise that form, and that
// form only (an answer of a handler always carries a Date header), and
// write an RFC 9457 problem instead, naming the offending header in
// "field" when the request's bytes show which it was.
//
// It serves HTTP/1.1 over TCP, as cmd/doorstep does. Behind TLS, wrap the
// listener that tls.NewListener returns, not the one below it.
func Listener(ln net.Listener) net.Listener { return problemListener{ln} }

type problemListener struct{ net.Listener }

func (l problemListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &problemConn{Conn: c}, nil
}

// maxRecorded bounds the bytes of a request a problemConn keeps to find
// the header a refusal is about.
const maxRecorded = 16 << 10

// problemConn rewrites the server's own refusals (see Listener). It keeps
// the first bytes read since its last answer: the head of the request
// being read. (A request pipelined behind another may have been read
// before that one's answer; its refusal then names "request".)
type problemConn struct {
	net.Conn
	mu   sync.Mutex
	head []byte
}

func (c *problemConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 {
		c.mu.Lock()
		if room := maxRecorded - len(c.head); room > 0 {
			c.head = append(c.head, p[:min(n, room)]...)
		}
		c.mu.Unlock()
	}
	return n, err
}

func (c *problemConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	head := c.head
	c.head = nil
	c.mu.Unlock()
	status, text, ok := serverRefusal(p)
	if !ok {
		return c.Conn.Write(p)
	}
	if _, err := c.Conn.Write(refusalProblem(status, text, head)); err != nil {
		return 0, err
	}
	return len(p), nil
}

// CloseWrite half-closes the connection when the one below can; the
// server does so after a 431 to let the client read it.
func (c *problemConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// refusalHeaders is what net/http's server writes between the status line
// and the body of a refusal (server.go, conn.serve: errorHeaders).
const refusalHeaders = "\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n"

// serverRefusal reports whether p is a whole refusal of net/http's server,
// with its status and its text ("invalid header value"; "" when the
// server gives none).
func serverRefusal(p []byte) (status int, text string, ok bool) {
	rest, found := bytes.CutPrefix(p, []byte("HTTP/1.1 "))
	if !found || len(rest) < 4 || rest[3] != ' ' {
		return 0, "", false
	}
	status, err := strconv.Atoi(string(rest[:3]))
	if err != nil || status < 400 || status > 599 {
		return 0, "", false
	}
	line, _, found := bytes.Cut(rest, []byte("\r\n"))
	if !found || !bytes.HasPrefix(rest[len(line):], []byte(refusalHeaders)) {
		return 0, "", false
	}
	_, after, _ := bytes.Cut(line[4:], []byte(": ")) // "Bad Request: invalid header value"
	return status, string(after), true
}

// refusalProblem is the problem+json answer to a request the server
// refused with status and text; head is the start of that request.
func refusalProblem(status int, text string, head []byte) []byte {
	code := map[int]string{http.StatusBadRequest: doorstep.EINVALID, http.StatusRequestHeaderFieldsTooLarge: doorstep.ETOOLARGE}[status]
	if code == "" {
		code = "not_implemented"
	}
	detail := "the server could not read the request"
	if text != "" {
		detail += ": " + text
	}
	p := Problem{Type: "https://doorstep.dev/problems/" + code, Title: http.StatusText(status), Status: status, Detail: detail, Code: code}
	if status == http.StatusBadRequest {
		p.Field = refusedField(text, head)
	}
	body, _ := json.Marshal(p) // a Problem of strings and ints always encodes
	body = append(body, '\n')
	// An id like every other answer's (requestID), though no log line
	// carries it: the server logs these refusals itself, if at all.
	return fmt.Appendf(nil, "HTTP/1.1 %d %s\r\nContent-Type: application/problem+json\r\nContent-Length: %d\r\nConnection: close\r\nX-Request-Id: %s\r\n\r\n%s",
		status, http.StatusText(status), len(body), rand.Text(), body)
}

// refusedField names what a 400 of the server is about: the first header
// of head whose name or value the server would refuse, Host for the Host
// checks, else the request as a whole.
func refusedField(text string, head []byte) string {
	if text == "missing required Host header" || text == "malformed Host header" {
		return "Host"
	}
	lines := bytes.Split(head, []byte("\n"))
	for _, line := range lines[min(1, len(lines)):] { // past the request line
		line = bytes.TrimSuffix(line, []byte("\r"))
		if len(line) == 0 {
			break // end of the header
		}
		name, value, found := bytes.Cut(line, []byte(":"))
		if !found || !validHeaderName(name) {
			return "headers"
		}
		if !validHeaderValue(value) {
			return textproto.CanonicalMIMEHeaderKey(string(name))
		}
	}
	return "request"
}

// validHeaderName reports whether name is an RFC 9110 token.
func validHeaderName(name []byte) bool {
	if len(name) == 0 {
		return false
	}
	for _, b := range name {
		if b <= ' ' || b >= 0x7f || bytes.IndexByte([]byte(`"(),/:;<=>?@[\]{}`), b) >= 0 {
			return false
		}
	}
	return true
}

// validHeaderValue reports whether value holds no control character but
// tab (RFC 9110 section 5.5).
func validHeaderValue(value []byte) bool {
	for _, b := range value {
		if (b < ' ' && b != '\t') || b == 0x7f {
			return false
		}
	}
	return true
}
