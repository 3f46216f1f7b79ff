// Package action is the GitHub Action's front end: it reads the inputs,
// logs in to AWS and ECR, runs the deploy engine, and reports the result as
// outputs, annotations and a job summary.
package action

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/sethvargo/go-githubactions"

	"github.com/autonote/deploy-action/internal/deployspec"
	"github.com/autonote/deploy-action/internal/ecrimage"
	"github.com/autonote/deploy-action/internal/ecsdeploy"
	"github.com/autonote/deploy-action/internal/ghdeploy"
	"github.com/autonote/deploy-action/internal/imagepush"
)

// ErrFailed is returned when the run did not leave the service on what was
// asked for; the annotations already say why.
var ErrFailed = errors.New("deploy did not succeed")

// Run runs the command the inputs name. Its error has been reported as an
// annotation already; the caller only turns it into the exit code.
func Run(ctx context.Context, a *githubactions.Action, opt ...Option) error {
	opts := defaults()
	for _, o := range opt {
		if err := o(&opts); err != nil {
			return fmt.Errorf("%w: %w", ErrFailed, err)
		}
	}
	for _, name := range secretInputs {
		if v := a.GetInput(name); v != "" {
			a.AddMask(v)
		}
	}
	r := &runner{a: a, opts: opts, log: &phaseLog{a: a, now: opts.now}}
	start := opts.now()
	rep, err := r.run(ctx)
	err = r.in.worded(err)
	rep.Start, rep.End, rep.Err = start, opts.now(), err
	// A rolled-back run failed in its rollout, which the engine marked, not
	// in the rollback that followed.
	rep.Phases = r.log.close(err != nil && rep.status() != ecsdeploy.StatusRolledBack)
	r.finish(rep)
	if err != nil {
		a.Errorf("%s", err)
		return fmt.Errorf("%w: %w", ErrFailed, err)
	}
	if !rep.status().OK() {
		return ErrFailed
	}
	return nil
}

type runner struct {
	gh   *ghdeploy.Deployment
	a    *githubactions.Action
	opts options
	log  *phaseLog
	in   Inputs
}

// session is what the commands that call ECS share: the clients, and the
// registry the images are in.
type session struct {
	clients  deployspec.Clients
	registry *ecrimage.Registry
	repo     *ecrimage.Repository
	deployer *ecsdeploy.Deployer
}

// run runs the command the inputs name and returns its report, filled as
// far as the command got, with the error that stopped it.
func (r *runner) run(ctx context.Context) (Report, error) {
	in, err := ParseInputs(r.a, r.opts.terminal)
	r.in = in
	rep := Report{Command: cmp.Or(in.Command, CommandDeploy), Service: in.Service, Cluster: in.Cluster, DryRun: in.DryRun}
	if err != nil {
		return rep, err
	}
	if r.opts.environ != nil {
		if err := checkInputNames(r.opts.environ()); err != nil {
			return rep, err
		}
	}
	if err := in.checkUnused(r.a.GetInput, r.a.Getenv("GITHUB_SHA")); err != nil {
		return rep, err
	}
	if in.Command == CommandBootstrap {
		verb := "apply"
		if in.DryRun {
			verb = "plan (dry run: nothing is changed)"
		}
		r.a.Infof("deploy-action %s: bootstrap %s of %s", r.opts.version, verb, cmp.Or(in.BootstrapConfig, "the default baseline"))
		return r.bootstrap(ctx, rep)
	}
	r.a.Infof("deploy-action %s: %s %s in cluster %s (%s)", r.opts.version, in.Command, in.Service, in.Cluster, in.Region)
	if in.GitHubToken != "" && !in.DryRun && in.Command != CommandStatus {
		r.startGitHubDeployment(ctx)
	}
	if in.WebhookURL != "" {
		return r.viaHook(ctx, rep)
	}
	s, err := r.connect(ctx, in.Command == CommandDeploy || in.Command == CommandRollback)
	if err != nil {
		return rep, err
	}
	switch in.Command {
	case CommandRollback:
		return r.rollback(ctx, s, rep)
	case CommandRedeploy:
		return r.redeploy(ctx, s, rep)
	case CommandStatus:
		return r.status(ctx, s, rep)
	default:
		return r.deploy(ctx, s, rep)
	}
}

// connect logs in to AWS, and to the registry when the command needs it.
func (r *runner) connect(ctx context.Context, registry bool) (*session, error) {
	a, in := r.a, r.in
	r.log.Phase("credentials")
	cfg, err := loadAWS(ctx, a, in)
	if err != nil {
		return nil, err
	}
	s := &session{clients: deployspec.NewClients(cfg, a.Getenv)}
	if registry {
		r.log.Phase("registry")
		if s.registry, s.repo, err = s.clients.Repository(ctx, in.Target); err != nil {
			return nil, err
		}
		if in.Registry != "" && s.registry.ECRHost != "" && in.Registry != s.registry.ECRHost {
			a.Noticef("registry %s is used instead of the one ECR reports (%s): the task definition will name %s/%s:<tag>, so ECS pulls from it, and the execution role must be allowed to pull from it (repositoryCredentials, for a private registry that is not ECR)", in.Registry, s.registry.ECRHost, in.Registry, in.Repository)
		}
		a.AddMask(s.registry.Password.Reveal())
	}
	if s.deployer, err = s.clients.Deployer(ecsdeploy.WithLogger(slog.New(&lineHandler{a: a})), ecsdeploy.WithReporter(r.log), ecsdeploy.WithPolling(r.opts.polling)); err != nil {
		return nil, err
	}
	return s, nil
}

// request is the engine's request the inputs make, its secrets read first:
// an unknown one fails before anything changes. preDeploy keeps the
// pre-deploy command, which only a deploy runs.
func (r *runner) request(ctx context.Context, s *session, preDeploy bool) (ecsdeploy.Request, error) {
	req, err := r.in.Request(ctx, s.clients.Secrets, r.a.AddMask)
	req.DryRun = r.in.DryRun
	// A workflow run (its re-runs keep the id) never runs its pre-deploy
	// command twice; a terminal's run has no name.
	if id := r.a.Getenv("GITHUB_RUN_ID"); id != "" && !r.opts.terminal {
		req.Run = "github-run/" + truncateID(r.a.Getenv("GITHUB_REPOSITORY")+"/"+id)
	}
	if !preDeploy {
		req.PreDeploy = nil
	}
	if req.Smoke != nil {
		req.Smoke.Transport = r.opts.smokeTransport
	}
	return req, err
}

// deploy pushes the image input, if any, and rolls the service onto the
// image of the tag input.
func (r *runner) deploy(ctx context.Context, s *session, rep Report) (Report, error) {
	a, in := r.a, r.in
	req, err := r.request(ctx, s, true)
	if err != nil {
		return rep, err
	}
	if in.TaskDefinition != "" {
		req.TaskDefinition = in.TaskDefinition
		res, err := s.deployer.Deploy(ctx, req)
		rep.Result = res
		if res != nil {
			rep.Image = res.Image
		}
		return r.rendered(rep), err
	}
	var img ecrimage.Image
	if in.Image != "" {
		if img, err = r.push(ctx, s, &rep); err != nil {
			return rep, err
		}
	} else if img, err = s.repo.Head(ctx, in.Tag); err != nil {
		// A short SHA: the workflow tags builds with the full one.
		if errors.Is(err, ecrimage.ErrImageNotFound) && len(in.Tag) < 40 && ecrimage.CheckSHA(in.Tag) == nil {
			if full, ferr := s.repo.Find(ctx, in.Tag); ferr == nil {
				return rep, fmt.Errorf("%w; the build is there as %s:%s: %s takes the full commit SHA the build-and-push workflow tags builds with (the rollback command's sha takes a prefix)", err, s.repo.Name(), full.Tag, r.in.name("tag"))
			}
		}
		return rep, fmt.Errorf("%w (push the image first: the build-and-push workflow tags it with the commit SHA)", err)
	} else {
		a.Infof("image %s (%s)", img.URI(), img.Digest)
	}
	rep.setImage(img)
	req.Image = img.URI()
	rep.Result, err = s.deployer.Deploy(ctx, req)
	return r.rendered(rep), err
}

// rollback returns the service to the image built from the sha input.
func (r *runner) rollback(ctx context.Context, s *session, rep Report) (Report, error) {
	images := resolverFunc(func(ctx context.Context, sha string) (string, error) {
		img, err := s.repo.Find(ctx, sha)
		if err != nil {
			return "", err
		}
		rep.setImage(img)
		r.a.Infof("%s resolves to %s (%s)", sha, img.URI(), img.Digest)
		return img.URI(), nil
	})
	req, err := r.request(ctx, s, false)
	if err != nil {
		return rep, err
	}
	if r.in.PreDeploy != nil {
		r.a.Noticef("pre-deploy-command does not run on a rollback: the build returned to ran its migrations when it was deployed (run a down-migration by hand if one is needed)")
	}
	res, err := s.deployer.Rollback(ctx, req, ecsdeploy.RollbackTo{SHA: r.in.SHA, Force: r.in.Force}, images)
	rep.Result = res
	return r.rendered(rep), err
}

// redeploy starts a new deployment of the revision the service runs now:
// new tasks, the same image (after rotating a secret, say).
func (r *runner) redeploy(ctx context.Context, s *session, rep Report) (Report, error) {
	req, err := r.request(ctx, s, false)
	if err != nil {
		return rep, err
	}
	res, err := s.deployer.Redeploy(ctx, req)
	rep.Result = res
	if res != nil && res.Image != "" {
		rep.Image = res.Image
	}
	return rep, err
}

// status reads what the service runs now; it changes nothing.
func (r *runner) status(ctx context.Context, s *session, rep Report) (Report, error) {
	r.log.Phase("read service")
	st, err := s.deployer.Status(ctx, r.in.EngineTarget())
	rep.State = st
	if st != nil {
		rep.Image = st.Image
		for _, n := range st.Notes {
			r.a.Warningf("status: %s", n)
		}
	}
	return rep, err
}

type resolverFunc func(ctx context.Context, sha string) (string, error)

func (f resolverFunc) Resolve(ctx context.Context, sha string) (string, error) { return f(ctx, sha) }

// rendered prints what the deploy changes against the running revision
// (field by field) and, in a dry run, the task definition that would be
// registered.
func (r *runner) rendered(rep Report) Report {
	if res := rep.Result; res != nil && res.DryRun && len(res.Diff) > 0 {
		r.log.Phase("dry run: changes against the running revision")
		for _, l := range res.Diff {
			r.a.Infof("%s", l)
		}
	}
	if res := rep.Result; res != nil && res.DryRun {
		r.log.Phase("dry run: task definition that would be registered")
		r.a.Infof("%s", res.Rendered)
		rep.Rendered = string(res.Rendered)
	}
	return rep
}

// push copies the image input to the repository under the tag input.
func (r *runner) push(ctx context.Context, s *session, rep *Report) (ecrimage.Image, error) {
	r.log.Phase("push " + r.in.Image)
	src, err := imagepush.Open(ctx, r.in.Image, imagepush.Env{
		DockerHost: r.a.Getenv("DOCKER_HOST"),
		TempDir:    existingDir(r.a.Getenv("RUNNER_TEMP")),
		Keychain:   authn.NewMultiKeychain(s.registry, authn.DefaultKeychain),
	})
	if err != nil {
		return ecrimage.Image{}, err
	}
	defer src.Close()
	if r.in.DryRun {
		// A dry run changes nothing, and a pushed tag may never be taken
		// back (immutable tags): say what would go, send nothing.
		digest, err := src.Artifact.Digest()
		if err != nil {
			return ecrimage.Image{}, fmt.Errorf("read the digest of %s: %w", r.in.Image, err)
		}
		img := ecrimage.Image{Registry: s.registry.Host, Repository: s.repo.Name(), Tag: r.in.Tag, Digest: digest.String()}
		r.a.Infof("dry run: would push %s (%s) as %s; nothing is sent", r.in.Image, digest, img.URI())
		return img, nil
	}
	res, err := imagepush.Push(ctx, s.clients.ECR, s.repo, r.in.Tag, src.Artifact, imagepush.Options{CreateRepository: r.in.CreateRepository,
		Progress: func(p imagepush.Progress) { r.a.Infof("push: %s", p) }})
	if err != nil {
		return ecrimage.Image{}, err
	}
	if res.AlreadyThere {
		rep.Push = "already in the repository: nothing sent"
		r.a.Infof("%s already names this image (%s): nothing to send", res.Image.URI(), res.Image.Digest)
		return res.Image, nil
	}
	rep.Push = fmt.Sprintf("%s sent, %d blobs uploaded, %d already there, %d mounted, %s",
		imagepush.HumanBytes(res.BytesSent), res.BlobsUploaded, res.BlobsSkipped, res.BlobsMounted, res.Duration.Round(time.Millisecond))
	r.a.Infof("pushed %s (%s): %s", res.Image.URI(), res.Image.Digest, rep.Push)
	return res.Image, nil
}

// finish writes the report's outputs and job summary, whatever happened.
func (r *runner) finish(rep Report) {
	a := r.a
	if r.opts.terminal && rep.Command == CommandStatus && rep.State != nil {
		// A person reads a view, a script JSON: not name=value lines and
		// Markdown meant for a runner.
		if w := r.opts.statusJSON; w != nil {
			raw, _ := json.MarshalIndent(rep.State, "", "  ")
			fmt.Fprintf(w, "%s\n", raw)
			return
		}
		a.Infof("%s", statusText(rep.State))
		return
	}
	for _, o := range rep.Outputs() {
		if strings.ContainsAny(o[1], "\r\n") {
			a.Warningf("output %s holds a line break, which none of this action's outputs can: not written", o[0])
			continue
		}
		r.fileCommand("GITHUB_OUTPUT", func() {
			if err := writeOutput(a.Getenv("GITHUB_OUTPUT"), o[0], o[1]); err != nil {
				panic(err)
			}
		}, fmt.Sprintf("%s=%s", o[0], o[1]))
	}
	var summary string
	switch {
	case rep.Boot != nil:
		summary = rep.Boot.summary(rep.Err)
		a.Infof("%s", rep.Boot.line(rep.status()))
	case rep.Command != CommandBootstrap:
		summary = Summary(rep)
	}
	if summary != "" {
		r.fileCommand("GITHUB_STEP_SUMMARY", func() { a.AddStepSummary(summary) }, summary)
	}
	if u := rep.url(); u != "" {
		a.Infof("the API answers at %s", u)
	}
	if rep.Command != CommandBootstrap {
		a.Infof("%s %s: %s", rep.Command, r.in.Service, rep.status())
		r.finishGitHubDeployment(rep)
	}
}

// writeOutput appends name=value to the runner's output file in the
// heredoc form, with a delimiter drawn anew for each value as GitHub's own
// toolkit does: a value cannot end the heredoc early and add outputs of its
// own (go-githubactions writes one fixed delimiter).
func writeOutput(file, name, value string) error {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return err
	}
	delim := "ghadelimiter_" + hex.EncodeToString(b[:])
	if strings.Contains(value, delim) || strings.ContainsAny(name, "\r\n<=") {
		return fmt.Errorf("output %s cannot be written safely", name)
	}
	f, err := os.OpenFile(file, os.O_APPEND|os.O_WRONLY|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	_, werr := fmt.Fprintf(f, "%s<<%s\n%s\n%s\n", name, delim, value, delim)
	return errors.Join(werr, f.Close())
}

// fileCommand runs a command that writes to the file the runner names in
// env, or prints what it would write when there is no such file (a run
// outside a runner). go-githubactions panics when the file cannot be
// written; that becomes a warning, since the deploy itself is done.
func (r *runner) fileCommand(env string, write func(), fallback string) {
	if r.a.Getenv(env) == "" {
		r.a.Infof("%s", fallback)
		return
	}
	defer func() {
		if p := recover(); p != nil {
			r.a.Warningf("write %s: %v", env, p)
		}
	}()
	write()
}

// existingDir is dir if it exists here, else "" (the system's temp dir). A
// container action gets RUNNER_TEMP as the runner's path, which the
// container may not have.
func existingDir(dir string) string {
	if fi, err := os.Stat(dir); dir != "" && err == nil && fi.IsDir() {
		return dir
	}
	return ""
}

// truncateID keeps an id within an ECS tag value's 256 characters.
func truncateID(s string) string { return s[:min(len(s), 240)] }
