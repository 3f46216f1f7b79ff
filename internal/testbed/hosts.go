package testbed

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// Hosts routes the made-up addresses of a test's tasks and load balancers
// (a documentation address such as 192.0.2.3, given by a simulator's
// scenario; a load balancer's name in moto) to the loopback listeners that
// answer for them, in the test's own dialer. An address it has no route
// for is refused: a test never connects anywhere but 127.0.0.1, listens at
// no fixed port, and changes nothing on the machine.
type Hosts struct {
	mu sync.Mutex
	to map[string]string // "host" or "host:port" → a loopback host:port
}

// Route sends connections to host (any port) or to host:port to the
// listener at addr; a name matches in any case, as DNS does.
func (h *Hosts) Route(host, addr string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.to == nil {
		h.to = map[string]string{}
	}
	h.to[strings.ToLower(host)] = addr
}

// Serve answers for host (any port) with handler, on a loopback listener
// of its own that closes when the test ends.
func (h *Hosts) Serve(t testing.TB, host string, handler http.Handler) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	h.Route(host, l.Addr().String())
}

// DialContext connects to the listener routed for addr.
func (h *Hosts) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	h.mu.Lock()
	to, ok := h.to[strings.ToLower(addr)]
	if !ok {
		to, ok = h.to[strings.ToLower(host)]
	}
	h.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("the test's dialer has no route for %s: it connects only to the listeners a test routes", addr)
	}
	d := &net.Dialer{Timeout: 5 * time.Second}
	return d.DialContext(ctx, network, to)
}

// Transport is an HTTP transport that dials through h.
func (h *Hosts) Transport() *http.Transport {
	return &http.Transport{DialContext: h.DialContext}
}
