package main

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/autonote/deploy-action/internal/testbed"
)

// rss is a process's resident memory now and at its peak, in bytes, from
// /proc.
func rss(t *testing.T, pid int) (now, peak int64) {
	t.Helper()
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(raw), "\n") {
		field, value, _ := strings.Cut(line, ":")
		kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(value), " kB"), 10, 64)
		switch {
		case err != nil:
		case field == "VmRSS":
			now = kb << 10
		case field == "VmHWM":
			peak = kb << 10
		}
	}
	return now, peak
}

// headerFlood opens n connections to addr, each sending a forged GitHub
// delivery's headers that claim a 64 KiB body, and no body, holding them
// for hold.
func headerFlood(addr string, n int, hold time.Duration) {
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := net.DialTimeout("tcp", addr, 2*time.Second)
			if err != nil {
				return
			}
			defer c.Close()
			fmt.Fprintf(c, "POST /github HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nX-GitHub-Event: deployment\r\nX-Hub-Signature-256: sha256=%s\r\nContent-Length: %d\r\n\r\n", addr, strings.Repeat("ab", 32), 64<<10)
			time.Sleep(hold)
		}()
	}
	wg.Wait()
}

// TestHeaderFloodHoldsLittleMemory: thousands of connections that send a
// forged delivery's headers, claim a 64 KiB body and send none. The hook
// (a process of its own, its peak RSS read from /proc) holds no buffer for
// a claimed length, caps the connections of one address, and ends each
// within the body deadline; a signed delivery from another address is
// answered during the flood.
func TestHeaderFloodHoldsLittleMemory(t *testing.T) {
	t.Parallel()
	bed := testbed.New(t, motoServer.Get(t))
	cfgFile := filepath.Join(t.TempDir(), "hook.yaml")
	cfg := "targets:\n  production: {region: us-east-1, cluster: c, service: s, ecr-repository: autonote/server}\ngithub:\n  repositories: [autonote/autonote]\n  environments: {production: production}\n  branch: main\n"
	if err := os.WriteFile(cfgFile, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	env := bed.Env()
	env["GITHUB_WEBHOOK_SECRET"] = githubSecret
	// The hook as it ships (the test binary may be built with -race, which
	// multiplies every allocation).
	bin := filepath.Join(t.TempDir(), "deploy-hook")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	for _, tc := range []struct {
		name  string
		flags []string
		limit int64 // bytes the peak RSS may grow by
	}{
		// One address past its cap: the rest of its connections are closed at once.
		{"one address, default caps", nil, 16 << 20},
		// The caps lifted: what each open connection costs.
		{"caps lifted", []string{"-max-connections", "5000", "-max-connections-per-peer", "5000"}, 96 << 20},
	} {
		t.Run(tc.name, func(t *testing.T) {
			base, hook, _ := startHookProcess(t, bin, env, cfgFile, tc.flags...)
			addr := strings.TrimPrefix(base, "http://")
			_, before := rss(t, hook.Process.Pid)
			flooded := make(chan struct{})
			go func() { defer close(flooded); headerFlood(addr, 3000, 3*time.Second) }()
			time.Sleep(1500 * time.Millisecond)

			// GitHub, from an address of its own.
			githubPings(t, &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DialContext: (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2)}}).DialContext}}, base)
			<-flooded
			_, peak := rss(t, hook.Process.Pid)
			grew := peak - before
			t.Logf("3000 header-only connections: the hook's peak RSS grew by %.1f MiB (from %.1f MiB)", float64(grew)/(1<<20), float64(before)/(1<<20))
			if grew > tc.limit {
				t.Errorf("the hook's peak RSS grew by %d MiB, want under %d MiB", grew>>20, tc.limit>>20)
			}
		})
	}
}
