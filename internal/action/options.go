package action

import (
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/autonote/deploy-action/internal/ecsdeploy"
)

// options are what a run needs besides the action's environment.
type options struct {
	version  string
	now      func() time.Time
	polling  ecsdeploy.Polling
	terminal bool
	// statusJSON, in a terminal, gets status as JSON.
	statusJSON io.Writer
	// smokeTransport is the base of the smoke check's transport.
	smokeTransport *http.Transport
	// environ lists the step's environment, where the runner sets an
	// INPUT_ variable for each input; nil: inputs' names are not checked.
	environ func() []string
}

func defaults() options {
	return options{version: "dev", now: time.Now, polling: ecsdeploy.DefaultPolling()}
}

// Option configures a run.
type Option func(*options) error

// WithVersion sets the version the log names. Default: dev.
func WithVersion(v string) Option {
	return func(o *options) error {
		if v == "" {
			return fmt.Errorf("version is empty")
		}
		o.version = v
		return nil
	}
}

// WithClock sets the time the run reads. Default (or nil): time.Now.
func WithClock(now func() time.Time) Option {
	return func(o *options) error {
		if now != nil {
			o.now = now
		}
		return nil
	}
}

// WithPolling paces the watch of a rollout and of a hook's job. Default:
// ecsdeploy.DefaultPolling().
func WithPolling(p ecsdeploy.Polling) Option {
	return func(o *options) error {
		if err := p.Check(); err != nil {
			return err
		}
		o.polling = p
		return nil
	}
}

// WithTerminal says the binary runs in a terminal, not a runner: errors
// name its flags (-smoke-path), not the action's inputs. Default: false.
func WithTerminal(terminal bool) Option {
	return func(o *options) error {
		o.terminal = terminal
		return nil
	}
}

// WithStatusJSON has a terminal's status write what it read to w as JSON
// (-output json, for scripts) instead of its text view. Default: nil, the
// text view.
func WithStatusJSON(w io.Writer) Option {
	return func(o *options) error {
		o.statusJSON = w
		return nil
	}
}

// WithSmokeTransport sets the base of the smoke check's transport: its
// dialer and TLS roots (the demo's load balancer, on loopback, with a
// certificate of its own). Default (or nil): http.DefaultTransport's.
func WithSmokeTransport(tr *http.Transport) Option {
	return func(o *options) error {
		o.smokeTransport = tr
		return nil
	}
}

// WithEnviron lets the run check the names of the inputs the runner set
// (INPUT_ variables of environ, the step's environment: os.Environ): an
// input the action does not declare is refused, with the one it likely
// meant. Default: nil, no check (a terminal's flags are declared ones).
func WithEnviron(environ func() []string) Option {
	return func(o *options) error {
		o.environ = environ
		return nil
	}
}
