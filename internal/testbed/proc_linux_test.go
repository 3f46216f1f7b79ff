package testbed

import (
	"net"
	"os"
	"testing"
)

// TestListens: a port this process listens on is its own; one it closed,
// or one another process holds, is not.
func TestListens(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	port := l.Addr().(*net.TCPAddr).Port
	if !listens(os.Getpid(), port) {
		t.Errorf("listens(self, %d) = false while this process listens on it", port)
	}
	closed, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	if listens(os.Getpid(), closed) {
		t.Errorf("listens(self, %d) = true for a port nobody listens on", closed)
	}
	if _, err := os.ReadDir("/proc/1/fd"); err == nil && listens(1, port) { // readable as root
		t.Errorf("listens(1, %d) = true: init holds none of this process's sockets", port)
	}
}
