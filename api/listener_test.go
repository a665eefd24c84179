package api_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"net/http"

	"github.com/doorstep-dev/doorstep/api"
)

// Go's HTTP server refuses a header with a control character before any
// handler runs; through api.Listener the refusal is problem+json and
// names the header.
func ExampleListener() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	srv := &http.Server{Handler: http.NotFoundHandler()}
	go srv.Serve(api.Listener(ln))
	defer srv.Close()

	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		panic(err)
	}
	defer conn.Close()
	fmt.Fprint(conn, "POST /v1/bookings HTTP/1.1\r\nHost: doorstep\r\nIdempotency-Key: k\x01\r\nContent-Length: 0\r\n\r\n")
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		panic(err)
	}
	defer res.Body.Close()
	var p api.Problem
	if err := json.NewDecoder(res.Body).Decode(&p); err != nil {
		panic(err)
	}
	fmt.Println(res.StatusCode, res.Header.Get("Content-Type"))
	fmt.Println(p.Code, p.Field)
	// Output:
	// 400 application/problem+json
	// invalid Idempotency-Key
}
