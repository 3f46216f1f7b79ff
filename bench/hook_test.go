package bench

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/autonote/deploy-action/internal/deployhook"
	"github.com/autonote/deploy-action/internal/stdwebhook"
)

const hookSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

// idleRunner finishes each job at once: the benchmark measures the HTTP
// side, which answers before any deploy runs.
type idleRunner struct{}

func (idleRunner) Run(context.Context, deployhook.Job, func(string)) (deployhook.Outcome, error) {
	return deployhook.Outcome{State: deployhook.StateSucceeded}, nil
}

// startHookServer serves the hook in this process with the timeouts
// cmd/deploy-hook sets, and samples its heap while it runs.
func startHookServer(b *testing.B) (string, func() uint64) {
	cfg, err := deployhook.ParseConfig([]byte("targets:\n  production: {region: us-east-1, cluster: c, service: s, ecr-repository: autonote/server}\n"), "bench")
	if err != nil {
		b.Fatal(err)
	}
	secrets, _ := stdwebhook.ParseSecrets(hookSecret)
	s, err := deployhook.NewServer(cfg, idleRunner{}, deployhook.WithSecrets(secrets...), deployhook.WithRateLimit(1<<30))
	if err != nil {
		b.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	hs := &http.Server{Handler: s, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 15 * time.Second, WriteTimeout: 30 * time.Second, IdleTimeout: 60 * time.Second, MaxHeaderBytes: 32 << 10}
	go hs.Serve(l)
	var peak atomic.Uint64
	stop := make(chan struct{})
	go func() {
		var m runtime.MemStats
		for {
			select {
			case <-stop:
				return
			case <-time.After(50 * time.Millisecond):
				runtime.ReadMemStats(&m)
				if m.HeapInuse > peak.Load() {
					peak.Store(m.HeapInuse)
				}
			}
		}
	}()
	b.Cleanup(func() { close(stop); hs.Close() })
	return "http://" + l.Addr().String(), peak.Load
}

var wrkRequests = regexp.MustCompile(`Requests/sec:\s+([\d.]+)`)

// wrk runs wrk with a Lua script and returns requests/s and, from its
// --latency table, the given percentiles in milliseconds.
func wrk(b *testing.B, url, script string, dur time.Duration) (rps float64, lat map[string]float64, non2xx int) {
	bin, err := exec.LookPath("wrk")
	if err != nil {
		b.Skip("wrk not found: apt-get install wrk")
	}
	out, err := exec.Command(bin, "-t2", "-c32", "-d"+dur.String(), "--latency", "-s", script, url).CombinedOutput()
	if err != nil {
		b.Fatalf("wrk: %v\n%s", err, out)
	}
	m := wrkRequests.FindSubmatch(out)
	if m == nil {
		b.Fatalf("wrk printed no rate:\n%s", out)
	}
	rps, _ = strconv.ParseFloat(string(m[1]), 64)
	lat = map[string]float64{}
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 2 && strings.HasSuffix(f[0], "%") {
			lat[f[0]] = parseMillis(f[1])
		}
		if v, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "Non-2xx or 3xx responses:"); ok {
			non2xx, _ = strconv.Atoi(strings.TrimSpace(v))
		}
	}
	return rps, lat, non2xx
}

func parseMillis(s string) float64 {
	for _, u := range []struct {
		suffix string
		ms     float64
	}{{"us", 0.001}, {"ms", 1}, {"s", 1000}} {
		if v, ok := strings.CutSuffix(s, u.suffix); ok {
			f, _ := strconv.ParseFloat(v, 64)
			return f * u.ms
		}
	}
	return 0
}

// BenchmarkHookRejected: requests with a bad signature, answered 401
// before the body is parsed, next to the peer the issue names: a bare
// net/http handler that answers 401 to everything, served with the same
// server settings, measured by the same wrk in the same iteration.
func BenchmarkHookRejected(b *testing.B) {
	url, peak := startHookServer(b)
	bare := startBareServer(b)
	script := filepath.Join(b.TempDir(), "rejected.lua")
	os.WriteFile(script, []byte(`wrk.method = "POST"
wrk.body = '{"target":"production","sha":"f95f852bd8fca8fcc58a9a2d6c842781e32a215e"}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["webhook-id"] = "msg_forged"
wrk.headers["webhook-timestamp"] = tostring(os.time())
wrk.headers["webhook-signature"] = "v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
`), 0o644)
	var hookSum, bareSum float64
	for b.Loop() {
		bareRPS, bareLat, _ := wrk(b, bare+"/v1/deployments", script, 5*time.Second)
		b.ReportMetric(bareLat["99%"], "bare-ms-p99")
		rps, lat, non2xx := wrk(b, url+"/v1/deployments", script, 5*time.Second)
		hookSum, bareSum = hookSum+rps, bareSum+bareRPS
		b.ReportMetric(float64(non2xx), "refused")
		b.ReportMetric(rps, "req/s")
		b.ReportMetric(bareRPS, "bare-req/s")
		b.ReportMetric(lat["50%"], "ms-p50")
		b.ReportMetric(lat["99%"], "ms-p99")
	}
	b.ReportMetric(hookSum/bareSum, "x-bare")
	b.ReportMetric(float64(peak())/(1<<20), "MiB-peak-heap")
}

// startBareServer serves a handler that refuses everything with 401, with
// the hook's server settings: the fastest a rejection can be on this stack.
func startBareServer(b *testing.B) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	hs := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		w.Write([]byte(`{"error":"no signature matches a current secret"}` + "\n"))
	}), ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 15 * time.Second, WriteTimeout: 30 * time.Second, IdleTimeout: 60 * time.Second, MaxHeaderBytes: 32 << 10}
	go hs.Serve(l)
	b.Cleanup(func() { hs.Close() })
	return "http://" + l.Addr().String()
}

// BenchmarkHookAccepted: signed requests with fresh ids, each making a
// job; wrk cycles through requests signed in advance.
func BenchmarkHookAccepted(b *testing.B) {
	secrets, _ := stdwebhook.ParseSecrets(hookSecret)
	dir := b.TempDir()
	// Enough requests that every one in the run carries an id of its own:
	// each makes a job, none is a replay.
	const n = 200000
	var data strings.Builder
	now := time.Now()
	for i := range n {
		body := fmt.Sprintf(`{"target":"production","sha":"%040x"}`, i+1)
		id := fmt.Sprintf("msg_%d_%d", now.UnixNano(), i)
		fmt.Fprintf(&data, "%s\t%d\t%s\t%s\n", id, now.Unix(), secrets[0].Sign(id, now, []byte(body)), body)
	}
	requests := filepath.Join(dir, "requests.tsv")
	os.WriteFile(requests, []byte(data.String()), 0o644)
	script := filepath.Join(dir, "accepted.lua")
	os.WriteFile(script, []byte(fmt.Sprintf(`local reqs = {}
for line in io.lines(%q) do
  local id, ts, sig, body = line:match("([^\t]+)\t([^\t]+)\t([^\t]+)\t(.+)")
  reqs[#reqs + 1] = wrk.format("POST", "/v1/deployments", {["Host"] = "127.0.0.1", ["Content-Type"] = "application/json",
    ["webhook-id"] = id, ["webhook-timestamp"] = ts, ["webhook-signature"] = sig}, body)
end
local i = 0
init = function(args)
  i = math.random(#reqs)
end
request = function()
  i = i %% #reqs + 1
  return reqs[i]
end
`, requests)), 0o644)
	data.Reset()
	runtime.GC() // the generator's garbage is not the server's memory
	url, peak := startHookServer(b)
	for b.Loop() {
		rps, lat, non2xx := wrk(b, url, script, 3*time.Second)
		if non2xx > 0 {
			b.Fatalf("%d signed requests were refused", non2xx)
		}
		b.ReportMetric(rps, "req/s")
		b.ReportMetric(lat["50%"], "ms-p50")
		b.ReportMetric(lat["99%"], "ms-p99")
	}
	b.ReportMetric(float64(peak())/(1<<20), "MiB-peak-heap")
}
