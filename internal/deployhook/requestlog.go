package deployhook

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// rejectedEvery is how often the counts of the requests not logged one
// by one are logged.
const rejectedEvery = 10 * time.Second

// requestLog gives each request an id of the hook's own and logs it: one
// line per signed request the hook served, and for the others (refused,
// unsigned: an ignored GitHub event, a probe, a 503) one line per interval
// with their counts by status, so that a flood of forged requests neither
// writes a line each nor puts text of the attacker's in the log.
type requestLog struct {
	log    *slog.Logger
	now    func() time.Time
	prefix string
	seq    atomic.Uint64

	mu       sync.Mutex
	rejected map[int]int
	since    time.Time
}

func newRequestLog(log *slog.Logger, now func() time.Time) *requestLog {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return &requestLog{log: log, now: now, prefix: hex.EncodeToString(b), rejected: map[int]int{}, since: now()}
}

// served logs a signed request the hook served (not a refused one) as one line,
// under an id of the hook's own: a client's X-Request-Id is neither used
// nor logged.
func (l *requestLog) served(ctx context.Context, r *http.Request, code int, took time.Duration) {
	l.flush(ctx, false)
	l.log.LogAttrs(ctx, slog.LevelInfo, "request", slog.String("id", l.prefix+"-"+strconv.FormatUint(l.seq.Add(1), 10)),
		slog.String("method", r.Method), slog.String("path", r.URL.Path), slog.Int("status", code), slog.Duration("duration", took))
}

// tally counts a request not logged on its own line.
func (l *requestLog) tally(ctx context.Context, code int) {
	l.mu.Lock()
	l.rejected[code]++
	l.mu.Unlock()
	l.flush(ctx, false)
}

// flush logs the counts of the tallied requests once an interval has passed,
// or at once with force (at shutdown).
func (l *requestLog) flush(ctx context.Context, force bool) {
	l.mu.Lock()
	now := l.now()
	if len(l.rejected) == 0 || (!force && now.Sub(l.since) < rejectedEvery) {
		l.mu.Unlock()
		return
	}
	counts, since := l.rejected, l.since
	l.rejected, l.since = map[int]int{}, now
	l.mu.Unlock()
	attrs := []slog.Attr{slog.Duration("over", now.Sub(since))}
	for _, code := range slices.Sorted(maps.Keys(counts)) {
		attrs = append(attrs, slog.Int(strconv.Itoa(code), counts[code]))
	}
	l.log.LogAttrs(ctx, slog.LevelWarn, "refused or unsigned requests", attrs...)
}
