// Package action is the GitHub Action's front end: it reads the inputs,
// logs in to AWS and ECR, runs the deploy engine, and reports the result as
// outputs, annotations and a job summary.
package action

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/sethvargo/go-githubactions"

	"github.com/autonote/deploy-action/internal/awsenv"
	"github.com/autonote/deploy-action/internal/ecrimage"
	"github.com/autonote/deploy-action/internal/ecsdeploy"
	"github.com/autonote/deploy-action/internal/ghdeploy"
	"github.com/autonote/deploy-action/internal/imagepush"
)

// Options are what a run needs besides the action's environment.
type Options struct {
	Version string
	Now     func() time.Time
	// Polling paces the watch; zero means ecsdeploy.DefaultPolling.
	Polling ecsdeploy.Polling
}

// ErrFailed is returned when the run did not leave the service on what was
// asked for; the annotations already say why.
var ErrFailed = errors.New("deploy did not succeed")

// Run runs the command the inputs name. Its error has been reported as an
// annotation already; the caller only turns it into the exit code.
func Run(ctx context.Context, a *githubactions.Action, opts Options) error {
	for _, name := range secretInputs {
		if v := a.GetInput(name); v != "" {
			a.AddMask(v)
		}
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	l := &phaseLog{a: a, now: opts.Now}
	r := &runner{a: a, opts: opts, log: l, start: opts.Now()}
	err := r.run(ctx)
	r.finish(err)
	if err != nil {
		a.Errorf("%s", err)
		return fmt.Errorf("%w: %w", ErrFailed, err)
	}
	if r.result != nil && !r.result.Status.OK() {
		return ErrFailed
	}
	return nil
}

type runner struct {
	gh     *ghdeploy.Deployment
	a      *githubactions.Action
	opts   Options
	log    *phaseLog
	in     Inputs
	start  time.Time
	image  ecrimage.Image
	boot   *bootRun
	pushed *imagepush.Result
	result *ecsdeploy.Result
}

// resolver finds the image of a rollback's SHA for the engine, and keeps
// it for the outputs.
type resolver struct {
	r    *runner
	repo *ecrimage.Repository
}

func (v *resolver) Resolve(ctx context.Context, sha string) (string, error) {
	img, err := v.repo.Find(ctx, sha)
	if err != nil {
		return "", err
	}
	v.r.image = img
	v.r.a.Infof("%s resolves to %s (%s)", sha, img.URI(), img.Digest)
	return img.URI(), nil
}

// push copies the image input to the repository under the tag input.
func (r *runner) push(ctx context.Context, client imagepush.ECRAPI, reg *ecrimage.Registry, repo *ecrimage.Repository) error {
	r.log.Phase("push " + r.in.Image)
	src, err := imagepush.Open(ctx, r.in.Image, imagepush.Env{
		DockerHost: r.a.Getenv("DOCKER_HOST"),
		TempDir:    existingDir(r.a.Getenv("RUNNER_TEMP")),
		Keychain:   authn.NewMultiKeychain(reg, authn.DefaultKeychain),
	})
	if err != nil {
		return err
	}
	defer src.Close()
	if r.in.DryRun {
		// A dry run changes nothing, and a pushed tag may never be taken
		// back (immutable tags): say what would go, send nothing.
		digest, err := src.Artifact.Digest()
		if err != nil {
			return fmt.Errorf("read the digest of %s: %w", r.in.Image, err)
		}
		r.image = ecrimage.Image{Registry: reg.Host, Repository: repo.Name(), Tag: r.in.Tag, Digest: digest.String()}
		r.a.Infof("dry run: would push %s (%s) as %s; nothing is sent", r.in.Image, digest, r.image.URI())
		return nil
	}
	res, err := imagepush.Push(ctx, client, repo, r.in.Tag, src.Artifact, imagepush.Options{CreateRepository: r.in.CreateRepository})
	if err != nil {
		return err
	}
	r.pushed, r.image = res, res.Image
	if res.AlreadyThere {
		r.a.Infof("%s already names this image (%s): nothing to send", res.Image.URI(), res.Image.Digest)
		return nil
	}
	r.a.Infof("pushed %s (%s): %s sent, %d blobs uploaded, %d already there, %d mounted, in %s",
		res.Image.URI(), res.Image.Digest, humanBytes(res.BytesSent), res.BlobsUploaded, res.BlobsSkipped, res.BlobsMounted, res.Duration.Round(time.Millisecond))
	return nil
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.2f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

func (r *runner) run(ctx context.Context) error {
	a := r.a
	in, err := ParseInputs(a)
	r.in = in
	if err != nil {
		return err
	}
	if in.Command == CommandBootstrap {
		verb := "apply"
		if in.DryRun {
			verb = "plan (dry run: nothing is changed)"
		}
		a.Infof("deploy-action %s: bootstrap %s of %s", r.opts.Version, verb, cmp.Or(in.BootstrapConfig, "the default baseline"))
		return r.bootstrap(ctx)
	}
	a.Infof("deploy-action %s: %s %s in cluster %s (%s)", r.opts.Version, in.Command, in.Service, in.Cluster, in.Region)
	if in.GitHubToken != "" && !in.DryRun {
		r.startGitHubDeployment(ctx)
	}
	if in.WebhookURL != "" {
		return r.viaHook(ctx)
	}

	r.log.Phase("credentials")
	cfg, err := loadAWS(ctx, a, in)
	if err != nil {
		return err
	}
	ecsClient := ecs.NewFromConfig(cfg, func(o *ecs.Options) {
		if u := awsenv.Endpoint(a.Getenv, "ECS"); u != nil {
			o.BaseEndpoint = u
		}
	})
	ecrClient := ecr.NewFromConfig(cfg, func(o *ecr.Options) {
		if u := awsenv.Endpoint(a.Getenv, "ECR"); u != nil {
			o.BaseEndpoint = u
		}
	})

	r.log.Phase("registry")
	reg, err := ecrimage.Login(ctx, ecrClient, in.Registry)
	if err != nil {
		return err
	}
	if in.Registry != "" && reg.ECRHost != "" && in.Registry != reg.ECRHost {
		a.Noticef("registry %s is used instead of the one ECR reports (%s): the task definition will name %s/%s:<tag>, so ECS pulls from it, and the execution role must be allowed to", in.Registry, reg.ECRHost, in.Registry, in.Repository)
	}
	a.AddMask(reg.Password.Reveal())
	repo, err := reg.Repository(in.Repository)
	if err != nil {
		return err
	}

	logger := slog.New(&lineHandler{a: a})
	dopts := []ecsdeploy.Option{ecsdeploy.WithLogger(logger), ecsdeploy.WithReporter(r.log)}
	if r.opts.Polling != (ecsdeploy.Polling{}) {
		dopts = append(dopts, ecsdeploy.WithPolling(r.opts.Polling))
	}
	deployer, err := ecsdeploy.New(ecsClient, dopts...)
	if err != nil {
		return err
	}
	req := ecsdeploy.Request{
		Target: ecsdeploy.Target{
			Cluster: in.Cluster, Service: in.Service, Container: in.Container, Repository: in.Repository,
		},
		Wait:                in.Wait,
		Timeout:             in.Timeout,
		RollbackOnFailure:   in.RollbackOnFailure,
		OnRolloutInProgress: in.OnRolloutInProgress,
		DryRun:              in.DryRun,
	}

	var res *ecsdeploy.Result
	if in.Command == CommandRollback {
		res, err = deployer.Rollback(ctx, req, in.SHA, &resolver{r: r, repo: repo})
	} else {
		if in.Image != "" {
			if err := r.push(ctx, ecrClient, reg, repo); err != nil {
				return err
			}
		} else if r.image, err = repo.Head(ctx, in.Tag); err != nil {
			return fmt.Errorf("%w (push the image first: the build-and-push workflow tags it with the commit SHA)", err)
		} else {
			a.Infof("image %s (%s)", r.image.URI(), r.image.Digest)
		}
		req.Image = r.image.URI()
		res, err = deployer.Deploy(ctx, req)
	}
	r.result = res
	if res != nil && res.DryRun {
		r.log.Phase("dry run: task definition that would be registered")
		a.Infof("%s", res.Rendered)
	}
	return err
}

// finish writes the outputs and the job summary, whatever happened.
func (r *runner) finish(err error) {
	a := r.a
	res := r.result
	status := ecsdeploy.StatusFailed
	if res != nil {
		status = res.Status
	}
	// A rolled-back run failed in its rollout, not in the rollback that
	// followed: mark the phase where it went wrong.
	phases := r.log.close(err != nil && status != ecsdeploy.StatusRolledBack)
	if status == ecsdeploy.StatusRolledBack {
		for i := range phases {
			if phases[i].Name == "watch rollout" || phases[i].Name == "deploy hook: job" {
				phases[i].Failed = true
			}
		}
	}
	if r.in.Command == CommandBootstrap {
		r.finishBootstrap(err)
		return
	}
	outputs := [][2]string{{"status", string(status)}}
	if r.image.Tag != "" {
		outputs = append(outputs, [2]string{"image-uri", r.image.URI()}, [2]string{"image-digest", r.image.Digest})
	}
	if res != nil {
		outputs = append(outputs,
			[2]string{"task-definition-arn", res.TaskDefinitionARN},
			[2]string{"previous-task-definition-arn", res.PreviousTaskDefinitionARN},
			[2]string{"deployment-id", res.DeploymentID})
	}
	for _, o := range outputs {
		r.fileCommand("GITHUB_OUTPUT", func() { a.SetOutput(o[0], o[1]) }, fmt.Sprintf("%s=%s", o[0], o[1]))
	}

	report := Report{
		Command: r.in.Command, Service: r.in.Service, Cluster: r.in.Cluster,
		Image: r.image.URI(), Digest: r.image.Digest, Result: res, Phases: phases,
		Start: r.start, End: r.opts.Now(), Err: err, DryRun: r.in.DryRun,
	}
	if p := r.pushed; p != nil {
		report.Push = fmt.Sprintf("%s sent, %d blobs uploaded, %d already there, %d mounted, %s",
			humanBytes(p.BytesSent), p.BlobsUploaded, p.BlobsSkipped, p.BlobsMounted, p.Duration.Round(time.Millisecond))
		if p.AlreadyThere {
			report.Push = "already in the repository: nothing sent"
		}
	}
	if r.image.Tag == "" {
		report.Image = ""
	}
	if res != nil && res.DryRun {
		report.Rendered = string(res.Rendered)
	}
	if report.Command == "" {
		report.Command = CommandDeploy
	}
	summary := Summary(report)
	r.fileCommand("GITHUB_STEP_SUMMARY", func() { a.AddStepSummary(summary) }, summary)
	a.Infof("%s %s: %s", report.Command, r.in.Service, status)
	r.finishGitHubDeployment(status, err)
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
