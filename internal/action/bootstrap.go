package action

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/autonote/deploy-action/internal/awsenv"
	"github.com/autonote/deploy-action/internal/bootstrap"
	"github.com/autonote/deploy-action/internal/ecsdeploy"
	"github.com/sethvargo/go-githubactions"
)

// bootRun is what command: bootstrap did.
type bootRun struct {
	cfg     bootstrap.Config
	plan    bool
	steps   []bootstrap.Step
	outputs bootstrap.Outputs
}

// bootstrap runs the bootstrap: plan when dry-run is true, apply otherwise.
func (r *runner) bootstrap(ctx context.Context, rep Report) (Report, error) {
	a, in := r.a, r.in
	file := in.BootstrapConfig
	if file != "" && !filepath.IsAbs(file) && a.Getenv("GITHUB_WORKSPACE") != "" {
		file = filepath.Join(a.Getenv("GITHUB_WORKSPACE"), file)
	}
	cfg, err := bootstrap.LoadConfig(file)
	if err != nil {
		return rep, err
	}
	// The baseline lives in one region: the clients' and the config's.
	switch {
	case cfg.Region == "":
		cfg.Region = in.Region
	case in.Region != "" && in.Region != cfg.Region:
		return rep, fmt.Errorf("aws-region %s and region %s in %s differ: the baseline lives in one region; give the same in both, or leave region out of the config", in.Region, cfg.Region, cmp.Or(in.BootstrapConfig, "the bootstrap config"))
	}
	in.Region = cfg.Region
	var secret []byte
	if v := a.Getenv("APP_SECRET_JSON"); v != "" {
		secret = []byte(v)
		maskJSONValues(a, v)
	} else if cfg.AppSecretFile != "" {
		if secret, err = os.ReadFile(cfg.AppSecretFile); err != nil {
			return rep, fmt.Errorf("read app-secret-file: %w", err)
		}
	}
	if err := cfg.Check(); err != nil {
		return rep, err
	}
	if cfg.OpenToTheWorld() {
		a.Warningf("the service's port %d is open to the whole internet (ingress-cidrs: 0.0.0.0/0), the seed's development setting: narrow it with ingress-cidrs in %s", cfg.ContainerPort, cmp.Or(in.BootstrapConfig, "a bootstrap config"))
	}
	r.log.Phase("credentials")
	awsCfg, err := loadAWS(ctx, a, in)
	if err != nil {
		return rep, err
	}
	stack, err := bootstrap.New(bootstrap.NewClients(awsCfg, awsenv.Endpoint(a.Getenv, "ECS")), cfg, bootstrap.WithAppSecret(secret))
	if err != nil {
		return rep, err
	}
	b := &bootRun{cfg: cfg, plan: in.DryRun}
	rep.Boot = b
	print := func(s bootstrap.Step) { a.Infof("%s", s.Line()) }
	if in.DryRun {
		r.log.Phase("plan")
		b.steps, err = stack.Plan(ctx)
		for _, s := range b.steps {
			print(s)
		}
	} else {
		r.log.Phase("apply")
		b.steps, err = stack.Apply(ctx, print)
	}
	for _, line := range bootstrap.Advice(b.steps) {
		a.Noticef("%s", line)
	}
	b.outputs = stack.Outputs()
	return rep, err
}

// status says what happened to AWS: a plan changes nothing (unchanged),
// and the changes output says how many resources apply would create or
// change.
func (b *bootRun) status(err error) ecsdeploy.Status {
	switch {
	case err != nil:
		return ecsdeploy.StatusFailed
	case !b.plan && bootstrap.Changes(b.steps) > 0:
		return ecsdeploy.StatusSucceeded
	}
	return ecsdeploy.StatusUnchanged
}

// line is the log's last word on the bootstrap.
func (b *bootRun) line(status ecsdeploy.Status) string {
	n := bootstrap.Changes(b.steps)
	if b.plan {
		return fmt.Sprintf("bootstrap plan: %d of %d resources to create or change; nothing was changed (dry run): status %s, changes %d", n, len(b.steps), status, n)
	}
	return fmt.Sprintf("bootstrap apply: %d of %d resources created or changed: status %s", n, len(b.steps), status)
}

// summary is the bootstrap's job summary: the plan table and the network.
func (b *bootRun) summary(err error) string {
	title := "Bootstrap apply"
	if b.plan {
		title = "Bootstrap plan"
	}
	summary := bootstrap.PlanTable(title, b.steps) + "\n" + bootstrap.NetworkDiagram(b.cfg, b.outputs)
	if err != nil {
		summary += "\n**Error:** " + err.Error() + "\n\nWhat was made carries the bootstrap's tags: run apply again to finish.\n"
	}
	return summary
}

// maskJSONValues masks the app's environment as a whole and each of its
// values on its own, line by line (the runner masks a line at a time), so a
// value printed alone, by the app or an error, is masked too.
func maskJSONValues(a *githubactions.Action, raw string) {
	a.AddMask(raw)
	var m map[string]any
	if json.Unmarshal([]byte(raw), &m) != nil {
		return
	}
	for _, v := range m {
		s, ok := v.(string)
		if !ok {
			b, _ := json.Marshal(v)
			s = string(b)
		}
		for _, line := range strings.Split(s, "\n") {
			if strings.TrimSpace(line) != "" {
				a.AddMask(line)
			}
		}
	}
}
