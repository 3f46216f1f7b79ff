package testbed_test

import (
	"net/http"
	"testing"

	"github.com/autonote/deploy-action/internal/testbed"
)

// TestLazyMotoHandsOutItsServersInTurn: a pool of two gives the first
// and the second test servers of their own, and the third the first again;
// Run stops them all.
func TestLazyMotoHandsOutItsServersInTurn(t *testing.T) {
	pool := &testbed.LazyMoto{Size: 2}
	a, b, c := pool.Get(t), pool.Get(t), pool.Get(t)
	if a.URL == b.URL || a != c {
		t.Errorf("servers %s, %s, %s: want two, the first handed out again", a.URL, b.URL, c.URL)
	}
	if code := pool.Run(ranNothing{}); code != 0 {
		t.Errorf("Run = %d", code)
	}
	for _, m := range []*testbed.Moto{a, b} {
		if resp, err := http.Get(m.URL + "/moto-api/data.json"); err == nil {
			resp.Body.Close()
			t.Errorf("moto at %s still answers after Run", m.URL)
		}
	}
}

type ranNothing struct{}

func (ranNothing) Run() int { return 0 }
