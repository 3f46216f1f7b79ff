// Package testbed starts the real parts that tests and the demo talk to over
// the wire: moto_server, the ECS scheduler simulator in front of it, and a
// container registry. Everything listens on 127.0.0.1.
package testbed

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	neturl "net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/autonote/deploy-action/internal/testbed/awsjudge"
	"github.com/autonote/deploy-action/internal/testbed/awsmodel"
	"github.com/autonote/deploy-action/internal/testbed/iamsim"
)

// Moto is a running moto_server with a judge in front of it.
type Moto struct {
	// URL is the judge's: every request a test sends goes there, is judged
	// as AWS would judge it (request rules, IAM) and, if AWS would take
	// it, reaches moto.
	URL string
	// Direct is moto's own address, for the test bed's parts that act as
	// AWS itself (the ECS simulator) and for the judge's reads.
	Direct string
	// Judge judges the requests and holds what they broke.
	Judge *awsjudge.Judge
	cmd   *exec.Cmd
	front *httptest.Server
}

// botocoreDir is the data directory of the aws CLI's botocore, found once.
var botocoreDir = sync.OnceValues(awsmodel.FindBotocore)

// StartMoto starts moto_server on a free loopback port, with the AWS managed
// policies loaded, and a judge in front of it, and waits until it answers.
// MOTO_SERVER names the binary when it is not moto_server on PATH.
func StartMoto(ctx context.Context) (*Moto, error) {
	return startMoto(ctx, &iamsim.Lazy{})
}

// startMoto starts a moto whose judge asks eval about IAM.
func startMoto(ctx context.Context, eval *iamsim.Lazy) (*Moto, error) {
	dir, err := botocoreDir()
	if err != nil {
		return nil, err
	}
	m, err := startMotoServer(ctx)
	if err != nil {
		return nil, err
	}
	m.Judge = awsjudge.New(m.Direct, dir, eval.Get)
	direct, _ := neturl.Parse(m.Direct)
	m.front = httptest.NewServer(m.Judge.Handler(httputil.NewSingleHostReverseProxy(direct)))
	m.URL = m.front.URL
	return m, nil
}

func startMotoServer(ctx context.Context) (*Moto, error) {
	bin := os.Getenv("MOTO_SERVER")
	if bin == "" {
		bin = "moto_server"
	}
	path, err := exec.LookPath(bin)
	if err != nil {
		return nil, fmt.Errorf("find moto_server: %w (install it with: pip install 'moto[server]==5.2.1')", err)
	}
	// A port another process takes between freePort and moto's bind makes
	// this moto exit: it starts again on another, twice at most.
	for attempt := 1; ; attempt++ {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		cmd := exec.Command(path, "-H", "127.0.0.1", "-p", strconv.Itoa(port))
		cmd.Env = append(os.Environ(), "MOTO_IAM_LOAD_MANAGED_POLICIES=true")
		url := fmt.Sprintf("http://127.0.0.1:%d", port)
		err = serve(ctx, cmd, url+"/moto-api/data.json", 60*time.Second, func(code int) bool { return code == http.StatusOK })
		if err == nil {
			return &Moto{Direct: url, cmd: cmd}, nil
		}
		if attempt == 3 || !strings.Contains(err.Error(), "in use") {
			return nil, err
		}
	}
}

// serve starts a test bed server and polls url until ready accepts its
// status from the process itself (it listens on the url's port: another
// server that took the port first does not count), the process exits (its
// output is in the error), or timeout passes. The process dies with the
// test binary.
func serve(ctx context.Context, cmd *exec.Cmd, url string, timeout time.Duration, ready func(code int) bool) error {
	name := filepath.Base(cmd.Path)
	out := &bytes.Buffer{}
	cmd.Stdout, cmd.Stderr = out, out
	dieWithParent(cmd)
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", name, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if ready(resp.StatusCode) && listens(cmd.Process.Pid, portOf(url)) {
				return nil
			}
		}
		select {
		case err := <-exited:
			return fmt.Errorf("%s exited: %v\n%s", name, err, out.String())
		case <-ctx.Done():
			_ = cmd.Process.Kill()
			return fmt.Errorf("%s did not answer on %s: %w", name, url, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// Reset clears every resource moto holds.
func (m *Moto) Reset() error {
	resp, err := http.Post(m.Direct+"/moto-api/reset", "application/json", nil)
	if err != nil {
		return fmt.Errorf("reset moto: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("reset moto: status %s", resp.Status)
	}
	return nil
}

// Stop ends moto_server.
func (m *Moto) Stop() error {
	if m == nil || m.cmd.Process == nil {
		return nil
	}
	if m.front != nil {
		m.front.Close()
	}
	if err := m.cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return err
	}
	return nil
}

// portOf is the port of a http://host:port/... URL, 0 when it has none.
func portOf(raw string) int {
	u, err := neturl.Parse(raw)
	if err != nil {
		return 0
	}
	p, _ := strconv.Atoi(u.Port())
	return p
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// LazyMoto is a test package's moto, started on the first test that asks
// for it and shared by the package's tests; a package whose tests need no
// server never starts one. Under go test -short, the fast layer, a test
// that asks for it is skipped: it crosses the wire, and make test runs it.
//
// Size, when above 1, makes it that many servers, handed out in turn: a
// package of many parallel tests then spreads them over processes (moto
// serves one request at a time, and slows as its store grows). A test
// keeps the one Get gave it.
type LazyMoto struct {
	Size int

	mu   sync.Mutex
	ms   []*Moto
	next int
	err  error
	eval iamsim.Lazy // the judges' IAM evaluator, one for the package
}

// Get returns one of the package's motos, starting it on first use.
func (l *LazyMoto) Get(t testing.TB) *Moto {
	t.Helper()
	SkipShort(t, "moto")
	l.mu.Lock()
	defer l.mu.Unlock()
	i := l.next % max(l.Size, 1)
	l.next++
	for l.err == nil && len(l.ms) <= i {
		var m *Moto
		if m, l.err = startMoto(context.Background(), &l.eval); l.err == nil {
			l.ms = append(l.ms, m)
		}
	}
	if l.err != nil {
		t.Fatalf("start moto: %v (make test-deps says what the test bed needs)", l.err)
	}
	return l.ms[i]
}

// Run runs a package's tests and stops its motos, if any were started:
// func TestMain(m *testing.M) { os.Exit(motoServer.Run(m)) }.
//
// A request no test's bed sent (a client a test made on the package's moto
// by hand) that AWS would refuse fails the run here; the judges' counts go
// to the folder $TESTBED_JUDGE_STATS names, when set (make test sums them).
func (l *LazyMoto) Run(m interface{ Run() int }) int {
	code := m.Run()
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, m := range l.ms {
		for _, v := range m.Judge.Orphans() {
			fmt.Fprintf(os.Stderr, "testbed: a request no test bed sent: %s\n", v)
			code = 1
		}
		if err := WriteJudgeStats(m.Judge); err != nil {
			fmt.Fprintf(os.Stderr, "testbed: %v\n", err)
		}
		_ = m.Stop()
	}
	_ = l.eval.Close()
	return code
}

// SkipShort skips a test that crosses the wire in the fast layer
// (go test -short), saying what it needs; make test runs it.
func SkipShort(t testing.TB, needs string) {
	t.Helper()
	if testing.Short() {
		t.Skip("over the wire (" + needs + "): not in the fast layer, go test -short; make test runs it")
	}
}
