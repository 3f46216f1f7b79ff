package deployhook

import (
	"net"
	"sync"
)

// Default caps on the hook's open connections: in all, and from one peer
// address. Each open connection holds a few KiB until its request is read
// (its headers within -read-header-timeout, its body within bodyDeadline),
// so the caps bound what unauthenticated senders can make the hook hold.
const (
	DefaultMaxConns        = 1024
	DefaultMaxConnsPerPeer = 256
)

// LimitListener accepts at most max connections at once, and perPeer from
// one remote address; a connection past either cap is closed as soon as
// it is accepted (counted by refused, which may be nil), so a flood from
// one address leaves room for everyone else. Closing an accepted
// connection frees its place.
func LimitListener(l net.Listener, max, perPeer int, refused func()) net.Listener {
	return &limitListener{Listener: l, max: max, perPeer: perPeer, peers: map[string]int{}, refused: refused}
}

type limitListener struct {
	net.Listener
	max, perPeer int
	refused      func()

	mu    sync.Mutex
	open  int
	peers map[string]int
}

func (l *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		peer := peerOf(c.RemoteAddr().String())
		l.mu.Lock()
		ok := l.open < l.max && l.peers[peer] < l.perPeer
		if ok {
			l.open++
			l.peers[peer]++
		}
		l.mu.Unlock()
		if ok {
			return &limitedConn{Conn: c, release: func() { l.release(peer) }}, nil
		}
		_ = c.Close()
		if l.refused != nil {
			l.refused()
		}
	}
}

func (l *limitListener) release(peer string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.open--
	if l.peers[peer]--; l.peers[peer] <= 0 {
		delete(l.peers, peer)
	}
}

// peerOf is the address part of a remote address: one peer, whatever its
// source port.
func peerOf(addr string) string {
	if host, _, err := net.SplitHostPort(addr); err == nil {
		return host
	}
	return addr
}

type limitedConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *limitedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}
