package bootstrap

import (
	"cmp"
	"context"
	"fmt"
	"os"

	"github.com/autonote/deploy-action/internal/awsenv"
)

// Verb is what a bootstrap run does.
type Verb string

// The verbs.
const (
	VerbPlan    Verb = "plan"
	VerbApply   Verb = "apply"
	VerbDestroy Verb = "destroy"
)

// Invocation is a bootstrap run as a front end (the bootstrap command, the
// action's command: bootstrap) received it, before anything is read.
type Invocation struct {
	Verb Verb
	// ConfigFile is the config's path; empty: the defaults.
	ConfigFile string
	// Region is the front end's own region setting; empty: the config's,
	// then AWS_REGION. When both it and the config's are given they must
	// agree: the baseline lives in one region.
	Region string
	// RegionWords names the region setting as the person wrote it
	// ("-region", "aws-region").
	RegionWords string
	// Getenv reads APP_SECRET_JSON and AWS_REGION.
	Getenv func(string) string
	// ForceDeleteSecrets: destroy deletes the secrets at once.
	ForceDeleteSecrets bool
	// Config, when set, is the config (a saved plan's) in place of
	// ConfigFile's.
	Config *Config
}

// Prepared is a bootstrap run whose every input has been read and checked:
// the config, the region and the app's secret. Nothing has called AWS yet,
// so a mistake in any of them changes nothing.
type Prepared struct {
	Verb   Verb
	Config Config
	// AppSecret is the app's environment (JSON) from APP_SECRET_JSON or the
	// config's app-secret-file; nil when neither gives one. Never logged.
	AppSecret []byte
	// Warnings are what the person should hear before anything is made.
	Warnings []string
	force    bool
}

// Prepare reads and checks every input of a run. Its errors are the same
// whichever front end calls it, but for the region setting's name.
func Prepare(inv Invocation) (*Prepared, error) {
	getenv := inv.Getenv
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	switch inv.Verb {
	case VerbPlan, VerbApply, VerbDestroy:
	default:
		return nil, fmt.Errorf("bootstrap %q: use plan, apply or destroy", inv.Verb)
	}
	cfg, err := LoadConfig(inv.ConfigFile)
	if inv.Config != nil {
		cfg, err = *inv.Config, nil
	}
	if err != nil {
		return nil, err
	}
	words := cmp.Or(inv.RegionWords, "region")
	switch {
	case inv.Region != "" && cfg.Region != "" && inv.Region != cfg.Region:
		return nil, fmt.Errorf("%s %s and region %s in %s differ: the baseline lives in one region; give the same in both, or leave region out of the config", words, inv.Region, cfg.Region, cmp.Or(inv.ConfigFile, "the bootstrap config"))
	case inv.Region != "":
		cfg.Region = inv.Region
	}
	from := words
	if inv.Region == "" {
		from = "region in " + cmp.Or(inv.ConfigFile, "the config")
	}
	if cfg.Region == "" {
		cfg.Region, from = cmp.Or(getenv("AWS_REGION"), getenv("AWS_DEFAULT_REGION")), "AWS_REGION"
	}
	if cfg.Region == "" {
		return nil, fmt.Errorf("no region: set %s, region in the config, or AWS_REGION", words)
	}
	if err := awsenv.CheckRegion(cfg.Region); err != nil {
		return nil, fmt.Errorf("%s: %w; nothing was changed", from, err)
	}
	p := &Prepared{Verb: inv.Verb, Config: cfg, force: inv.ForceDeleteSecrets}
	if v := getenv("APP_SECRET_JSON"); v != "" {
		p.AppSecret = []byte(v)
	} else if cfg.AppSecretFile != "" {
		if p.AppSecret, err = os.ReadFile(cfg.AppSecretFile); err != nil {
			return nil, fmt.Errorf("read app-secret-file: %w", err)
		}
	}
	if err := CheckAppSecret(p.AppSecret); err != nil {
		return nil, fmt.Errorf("APP_SECRET_JSON or app-secret-file: %w; nothing was changed", err)
	}
	if err := cfg.Check(); err != nil {
		return nil, err
	}
	if cfg.Endpoint == EndpointLoadBalancer && cfg.CertificateARN != "" && cfg.Domain == "" && inv.Verb != VerbDestroy {
		p.Warnings = append(p.Warnings, "certificate-arn is set without domain: the load balancer's certificate names your domain, not its own DNS name, so the action's smoke check cannot verify it (and says so) and its url names the load balancer: set domain to the name on the certificate")
	}
	if cfg.OpenToTheWorld() && inv.Verb != VerbDestroy {
		p.Warnings = append(p.Warnings, fmt.Sprintf("the service's port %d is open to the whole internet (ingress-cidrs: 0.0.0.0/0), the seed's development setting: narrow it with ingress-cidrs in %s, e.g. [203.0.113.0/24], or put a load balancer in front (endpoint: load-balancer)", cfg.ContainerPort, cmp.Or(inv.ConfigFile, "a bootstrap config")))
	}
	return p, nil
}

// DestroyPlan is what destroy would do: each resource, newest first, to
// delete (the stack's) or to leave (adopted, or another stack's), and what
// the stack added to what it leaves. It changes nothing.
func (p *Prepared) DestroyPlan(ctx context.Context, c Clients, opts ...Option) ([]Step, error) {
	opts = append([]Option{WithAppSecret(p.AppSecret), WithForceDeleteSecrets(p.force)}, opts...)
	stack, err := New(c, p.Config, opts...)
	if err != nil {
		return nil, err
	}
	return stack.DestroyPlan(ctx)
}

// Outcome is what a run did: each step, and the IDs of the baseline.
type Outcome struct {
	Verb    Verb
	Steps   []Step
	Outputs Outputs
}

// Changes is how many resources the run created or changed (a plan: would).
func (o Outcome) Changes() int { return Changes(o.Steps) }

// Run plans, applies or destroys with clients, telling progress of each
// step as it is decided (a plan's, once all are). The Outcome is filled as
// far as the run got, also with an error.
func (p *Prepared) Run(ctx context.Context, c Clients, progress func(Step), opts ...Option) (Outcome, error) {
	if progress == nil {
		progress = func(Step) {}
	}
	out := Outcome{Verb: p.Verb}
	opts = append([]Option{WithAppSecret(p.AppSecret), WithForceDeleteSecrets(p.force)}, opts...)
	stack, err := New(c, p.Config, opts...)
	if err != nil {
		return out, err
	}
	switch p.Verb {
	case VerbPlan:
		out.Steps, err = stack.Plan(ctx)
		for _, s := range out.Steps {
			progress(s)
		}
	case VerbApply:
		out.Steps, err = stack.Apply(ctx, progress)
	default:
		out.Steps, err = stack.Destroy(ctx, progress)
	}
	out.Outputs = stack.Outputs()
	return out, err
}
