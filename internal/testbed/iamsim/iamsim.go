// Package iamsim judges IAM requests with a maintained policy evaluator,
// @cloud-copilot/iam-simulate (Strict mode, with AWS's Service
// Authorization Reference data), run under node: one process a test
// binary, started on first use, installed from the npm registry at the
// versions js/package-lock.json pins when it is missing.
package iamsim

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
)

// Policy is a policy document with the name the decision cites it by.
type Policy struct {
	Name     string          `json:"name"`
	Document json.RawMessage `json:"policy"`
}

// Simulation is one request to judge: who asks to do what on which
// resource, under which policies.
type Simulation struct {
	Principal string `json:"principal"`
	Action    string `json:"action"`
	Resource  string `json:"resource"`
	Account   string `json:"account"` // the resource's
	// Context are the request's condition keys: a string or []string each.
	Context        map[string]any  `json:"context"`
	Identity       []Policy        `json:"identity"`
	Boundary       []Policy        `json:"boundary,omitempty"`
	ResourcePolicy json.RawMessage `json:"resourcePolicy,omitempty"`
}

// Decision is the evaluator's answer.
type Decision struct {
	// Result is Allowed, ExplicitlyDenied, ImplicitlyDenied, or Error when
	// the request itself is not valid for its action (an action that does
	// not exist, a resource of a type it does not take).
	Result string `json:"result"`
	Error  string `json:"error"`
	// BlockedBy names what denied: identity, pb (the permissions
	// boundary), resource.
	BlockedBy []string `json:"blockedBy"`
	Identity  string   `json:"identity"`
	Boundary  string   `json:"boundary"`
	// Allow and Deny are the statements (policy/Sid) that allowed or
	// denied it.
	Allow   []string `json:"allow"`
	Deny    []string `json:"deny"`
	Ignored []string `json:"ignored"` // context keys the action does not take
}

// Allowed reports whether the request is allowed.
func (d Decision) Allowed() bool { return d.Result == "Allowed" }

// Evaluator is a running iam-simulate.
type Evaluator struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser

	mu      sync.Mutex
	next    int64
	pending map[int64]chan Decision
	dead    error
}

// Dir is where the evaluator's package lives (js/ beside this file).
func Dir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "js")
}

// Install installs the pinned evaluator with npm ci when it is missing,
// under a lock, so test binaries started at once install it once.
func Install() error {
	dir := Dir()
	installed := func() bool {
		_, err := os.Stat(filepath.Join(dir, "node_modules", "@cloud-copilot", "iam-simulate", "package.json"))
		return err == nil
	}
	if installed() {
		return nil
	}
	lock, err := os.OpenFile(filepath.Join(os.TempDir(), "deploy-action-iamsim.lock"), os.O_CREATE|os.O_RDWR, 0o666)
	if err != nil {
		return fmt.Errorf("install the IAM evaluator: %w", err)
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return fmt.Errorf("install the IAM evaluator: lock: %w", err)
	}
	defer func() { _ = syscall.Flock(int(lock.Fd()), syscall.LOCK_UN) }()
	if installed() {
		return nil
	}
	npm, err := exec.LookPath("npm")
	if err != nil {
		return fmt.Errorf("install the IAM evaluator: %w (it runs under node: apt-get install nodejs npm)", err)
	}
	cmd := exec.Command(npm, "ci", "--no-audit", "--no-fund", "--loglevel=error")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("install the IAM evaluator (npm ci in %s): %w\n%s", dir, err, out)
	}
	return nil
}

// Start installs the evaluator if need be and starts it. It ends with ctx
// or Close.
func Start(ctx context.Context) (*Evaluator, error) {
	if err := Install(); err != nil {
		return nil, err
	}
	node, err := exec.LookPath("node")
	if err != nil {
		return nil, fmt.Errorf("start the IAM evaluator: %w (apt-get install nodejs)", err)
	}
	cmd := exec.CommandContext(ctx, node, filepath.Join(Dir(), "simulate.mjs"))
	cmd.Dir = Dir()
	cmd.Stderr = &tail{max: 8 << 10}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start the IAM evaluator: %w", err)
	}
	e := &Evaluator{cmd: cmd, stdin: stdin, pending: map[int64]chan Decision{}}
	go e.read(stdout)
	return e, nil
}

// read hands each answer to its caller; at the end, every caller still
// waiting learns the evaluator died.
func (e *Evaluator) read(stdout io.Reader) {
	sc := bufio.NewScanner(stdout)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		var a struct {
			ID int64 `json:"id"`
			Decision
		}
		if err := json.Unmarshal(sc.Bytes(), &a); err != nil {
			continue
		}
		e.mu.Lock()
		ch := e.pending[a.ID]
		delete(e.pending, a.ID)
		e.mu.Unlock()
		if ch != nil {
			ch <- a.Decision
		}
	}
	err := e.cmd.Wait()
	e.mu.Lock()
	defer e.mu.Unlock()
	e.dead = fmt.Errorf("the IAM evaluator exited: %v %s", err, strings.TrimSpace(e.cmd.Stderr.(*tail).String()))
	for id, ch := range e.pending {
		close(ch)
		delete(e.pending, id)
	}
}

// Evaluate judges one simulation.
func (e *Evaluator) Evaluate(ctx context.Context, s Simulation) (Decision, error) {
	e.mu.Lock()
	if e.dead != nil {
		e.mu.Unlock()
		return Decision{}, e.dead
	}
	e.next++
	id := e.next
	ch := make(chan Decision, 1)
	e.pending[id] = ch
	line, err := json.Marshal(struct {
		ID int64 `json:"id"`
		Simulation
	}{id, s})
	if err == nil {
		_, err = e.stdin.Write(append(line, '\n'))
	}
	e.mu.Unlock()
	if err != nil {
		return Decision{}, fmt.Errorf("ask the IAM evaluator: %w", err)
	}
	select {
	case d, ok := <-ch:
		if !ok {
			e.mu.Lock()
			defer e.mu.Unlock()
			return Decision{}, e.dead
		}
		return d, nil
	case <-ctx.Done():
		e.mu.Lock()
		delete(e.pending, id)
		e.mu.Unlock()
		return Decision{}, ctx.Err()
	}
}

// Close ends the evaluator.
func (e *Evaluator) Close() error {
	if e == nil {
		return nil
	}
	_ = e.stdin.Close()
	if e.cmd.Process != nil {
		_ = e.cmd.Process.Kill()
	}
	return nil
}

// Lazy is a test binary's evaluator, started on first use and shared.
type Lazy struct {
	once sync.Once
	e    *Evaluator
	err  error
}

// Get returns the evaluator, starting it on first use.
func (l *Lazy) Get() (*Evaluator, error) {
	l.once.Do(func() { l.e, l.err = Start(context.Background()) })
	if l.err != nil {
		return nil, l.err
	}
	return l.e, nil
}

// Close ends the evaluator if it was started.
func (l *Lazy) Close() error {
	if l.e == nil {
		return nil
	}
	return l.e.Close()
}

// tail keeps the last bytes of a stream (the evaluator's stderr).
type tail struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if len(t.b) > t.max {
		t.b = t.b[len(t.b)-t.max:]
	}
	return len(p), nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.b)
}
