package ecsdeploy

import (
	"math/rand/v2"
	"testing"
	"time"
)

func TestPollingKeepsItsBudget(t *testing.T) {
	t.Parallel()
	p := DefaultPolling()
	tests := []struct {
		name     string
		settling func(call int) bool
	}{
		{"always settling", func(int) bool { return true }},
		{"never settling", func(int) bool { return false }},
		{"settling after a slow start", func(call int) bool { return call > 10 }},
		{"flapping", func(call int) bool { return call%2 == 0 }},
		{"random", func(int) bool { return rand.IntN(2) == 0 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var elapsed time.Duration
			for calls := 1; calls <= 500; calls++ {
				if limit := 1 + int(elapsed/p.Average); calls > limit {
					t.Fatalf("call %d at %v: over the budget of %d calls", calls, elapsed, limit)
				}
				settling := tt.settling(calls)
				d := p.next(settling, elapsed, calls)
				if d > p.Slow && d > time.Duration(calls)*p.Average-elapsed {
					t.Fatalf("call %d: waited %v, more than Slow and more than the budget asks", calls, d)
				}
				if settling && d > p.Average {
					t.Fatalf("call %d: settling but waited %v, more than Average: completion would be seen late", calls, d)
				}
				elapsed += d
			}
		})
	}
}
