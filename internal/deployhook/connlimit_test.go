package deployhook_test

import (
	"errors"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/autonote/deploy-action/internal/deployhook"
)

// TestLimitListener: past the cap of one peer, its next connection is
// closed at once while another peer's is taken; past the cap in all,
// everyone's is; closing one frees its place.
func TestLimitListener(t *testing.T) {
	t.Parallel()
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var refused atomic.Int64
	l := deployhook.LimitListener(inner, 3, 2, func() { refused.Add(1) })
	defer l.Close()
	accepted := make(chan net.Conn, 10)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			accepted <- c
		}
	}()
	// dial connects from a loopback source address of its own: one peer each.
	dial := func(from string) net.Conn {
		t.Helper()
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Timeout: time.Second}
		c, err := d.Dial("tcp", inner.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	// closedByServer reports whether the server closed c at once.
	closedByServer := func(c net.Conn) bool {
		_ = c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		_, err := c.Read(make([]byte, 1))
		var ne net.Error
		return err != nil && !(errors.As(err, &ne) && ne.Timeout())
	}
	a1, a2, a3 := dial("127.0.0.1"), dial("127.0.0.1"), dial("127.0.0.1")
	if closedByServer(a1) || closedByServer(a2) || !closedByServer(a3) {
		t.Error("want a peer's first two connections kept and its third closed")
	}
	b1 := dial("127.0.0.2")
	if closedByServer(b1) {
		t.Error("another peer's connection was refused while the cap in all had room")
	}
	b2 := dial("127.0.0.2")
	if !closedByServer(b2) {
		t.Error("a connection past the cap in all (3) was kept")
	}
	(<-accepted).Close() // the server closes one of a peer's connections
	a4 := dial("127.0.0.1")
	if closedByServer(a4) {
		t.Error("a freed place was not given to the next connection")
	}
	if n := refused.Load(); n != 2 {
		t.Errorf("refused %d connections, want 2", n)
	}
}
