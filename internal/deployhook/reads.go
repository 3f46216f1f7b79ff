package deployhook

import (
	"sync"
	"time"

	"github.com/autonote/deploy-action/internal/stdwebhook"
)

// maxReadIDs bounds the read ids a replica remembers; past it the oldest
// are forgotten first (a signed read is rate-limited too).
const maxReadIDs = 100_000

// readIDs remembers the ids of signed reads for as long as their signature
// is fresh, so that a captured read cannot be replayed.
type readIDs struct {
	mu    sync.Mutex
	seen  map[string]time.Time
	order []string
}

// first reports whether id has not been used for a read within the
// signature's tolerance, and remembers it.
func (r *readIDs) first(id string, now time.Time) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.seen == nil {
		r.seen = map[string]time.Time{}
	}
	for len(r.order) > 0 && (len(r.order) >= maxReadIDs || now.Sub(r.seen[r.order[0]]) > 2*stdwebhook.Tolerance) {
		delete(r.seen, r.order[0])
		r.order = r.order[1:]
	}
	if _, ok := r.seen[id]; ok {
		return false
	}
	r.seen[id] = now
	r.order = append(r.order, id)
	return true
}
