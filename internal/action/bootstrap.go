package action

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"

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
// Every input is read and checked, as the bootstrap command checks it,
// before the first AWS call.
func (r *runner) bootstrap(ctx context.Context, rep Report) (Report, error) {
	a, in := r.a, r.in
	maskJSONValues(a, a.Getenv("APP_SECRET_JSON"))
	file := in.BootstrapConfig
	if file != "" && !filepath.IsAbs(file) && a.Getenv("GITHUB_WORKSPACE") != "" {
		file = filepath.Join(a.Getenv("GITHUB_WORKSPACE"), file)
	}
	verb := bootstrap.VerbApply
	if in.DryRun {
		verb = bootstrap.VerbPlan
	}
	// The region input defaults to AWS_REGION; only one given explicitly
	// must agree with the config's.
	regionWords := "aws-region"
	if in.terminal {
		regionWords = "-aws-region"
	}
	prep, err := bootstrap.Prepare(bootstrap.Invocation{Verb: verb, ConfigFile: file, Region: a.GetInput("aws-region"), RegionWords: regionWords, Getenv: a.Getenv})
	if err != nil {
		return rep, err
	}
	maskJSONValues(a, string(prep.AppSecret))
	if file == "" {
		// Said first: a plan of the defaults reads like a plan of the
		// config someone meant to give.
		a.Warningf("%s is not set: the built-in defaults (those of examples/bootstrap.yaml: stack %s, cluster %s) are %s", in.name("bootstrap-config"), prep.Config.Name, prep.Config.Cluster,
			map[bool]string{true: "planned", false: "applied"}[in.DryRun])
	}
	for _, w := range prep.Warnings {
		a.Warningf("%s", w)
	}
	in.Region = prep.Config.Region
	r.log.Phase("credentials")
	awsCfg, err := loadAWS(ctx, a, in)
	if err != nil {
		return rep, err
	}
	b := &bootRun{cfg: prep.Config, plan: in.DryRun}
	rep.Boot = b
	r.log.Phase(string(verb))
	out, err := prep.Run(ctx, bootstrap.NewClients(awsCfg, a.Getenv), func(s bootstrap.Step) { a.Infof("%s", s.Line()) })
	b.steps, b.outputs = out.Steps, out.Outputs
	for _, line := range bootstrap.Advice(b.steps) {
		a.Noticef("%s", line)
	}
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
	if raw == "" {
		return
	}
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
