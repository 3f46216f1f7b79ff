package ecsdeploy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/autonote/deploy-action/internal/awserr"
	"github.com/autonote/deploy-action/internal/handoff"
)

// Target is the service a deploy changes and how to find its container.
type Target struct {
	Cluster string
	Service string
	// Container is the container whose image changes; empty means the only
	// container, or the one running an image of Repository.
	Container  string
	Repository string
}

// Request is one deploy: put Image into the target's container.
type Request struct {
	Target
	Image             string
	Wait              bool
	Timeout           time.Duration
	RollbackOnFailure bool
	DryRun            bool
	// OnRolloutInProgress says what to do when another build is rolling
	// out: Wait (the default, "") or Supersede.
	OnRolloutInProgress InProgress
	// Env and Secrets set variables on the container of the new revision,
	// replacing those of the same name: Env in plain text, Secrets as
	// valueFrom (a secret's ARN, or ARN:json-key::).
	Env     []types.KeyValuePair
	Secrets []types.Secret
	// TaskDefinition deploys this revision as it is (family:revision or
	// ARN), instead of a new one made from the running revision and Image.
	TaskDefinition string
	// PreDeploy, when set, runs once in a task of the new revision before
	// the service changes; the deploy stops there unless it exits 0.
	PreDeploy *PreDeploy
	// Run names this deploy for its pre-deploy task (the workflow run, the
	// hook's job): a later run of the same name uses the result of the task
	// it ran instead of running the command again. Empty (a terminal): only
	// a task still running is followed instead of started again.
	Run string
	// Smoke, when set, must answer on every new task before the deploy
	// counts as done; otherwise the service returns to the last stable
	// revision.
	Smoke *Smoke
	// FailAfter > 0 ends the watch of the new deployment at that many
	// certain failures of its tasks (ClassifyStop) and starts the return at
	// once; 0 leaves the verdict to ECS's circuit breaker and the timeout.
	FailAfter int
	// KeepRevisions > 0 deregisters, after a successful deploy, the
	// family's revisions older than the newest KeepRevisions, never one a
	// deployment of the service uses or the rollback target.
	KeepRevisions int
}

// verb is which entry point a run came through.
type verb int

const (
	verbDeploy verb = iota
	// verbRollback returns to a build: an identical earlier revision of the
	// family is reused before one is registered.
	verbRollback
	// verbRedeploy starts new tasks of the revision the service runs.
	verbRedeploy
	// verbStatus reads and changes nothing.
	verbStatus
)

func (r Request) validate(v verb) error {
	switch {
	case r.Cluster == "":
		return fmt.Errorf("cluster is empty: name the ECS cluster")
	case r.Service == "":
		return fmt.Errorf("service is empty: name the ECS service")
	case v == verbDeploy && r.Image == "" && r.TaskDefinition == "":
		return fmt.Errorf("image is empty: name the image to deploy")
	case v == verbDeploy && r.Image != "" && r.TaskDefinition != "":
		return fmt.Errorf("both an image and a task definition are given: deploy one or the other")
	case len(r.Env)+len(r.Secrets) > 0 && r.TaskDefinition != "":
		return fmt.Errorf("env and secrets change a new revision; a given task definition is deployed as it is: drop one or the other")
	case r.FailAfter < 0:
		return fmt.Errorf("fail-after %d is negative: give how many certain task failures end a rollout, or 0 to leave it to ECS", r.FailAfter)
	case r.KeepRevisions < 0:
		return fmt.Errorf("keep-revisions %d is negative: give how many revisions to keep, or 0 to keep all", r.KeepRevisions)
	case (r.Wait || r.OnRolloutInProgress != Supersede) && r.Timeout <= 0:
		return fmt.Errorf("timeout %v is not positive: give the rollout time to finish, e.g. 15m", r.Timeout)
	case r.OnRolloutInProgress != "" && r.OnRolloutInProgress != Wait && r.OnRolloutInProgress != Supersede:
		return fmt.Errorf("on-rollout-in-progress %q: use wait or supersede", r.OnRolloutInProgress)
	}
	return nil
}

// Deploy rolls the target onto req.Image. The Result is returned even with
// an error and says what the service runs now.
func (d *Deployer) Deploy(ctx context.Context, req Request) (*Result, error) {
	if err := req.validate(verbDeploy); err != nil {
		return nil, err
	}
	r := d.newRun(req, verbDeploy)
	res, err := r.deploy(ctx)
	r.finish(err)
	return res, err
}

// run is the state of one deploy.
type run struct {
	*Deployer
	verb verb
	req  Request
	res  *Result
	seen map[string]bool // service events already reported
	// said is when the watch last reported something: an event, progress.
	said time.Time
	// scaleTo is the desired count of a service the bootstrap left at zero
	// until its first deploy; nil for every other service.
	scaleTo *int32
	// behindLB is true for a service registered with a load balancer.
	behindLB bool
	// lbAddress is the load balancer's own DNS name: where every smoke
	// and gate connection goes, whatever host its URL names; domain is
	// the name on its certificate (its domain tag), when it has one.
	lbAddress, domain string
	// lbErr is why the load balancer may not be asked (a domain tag that
	// is no host name): the smoke check and the gate fail with it.
	lbErr error
	// since, for a deploy carried on (CarryOn), is when the runner that
	// could not finish it started.
	since time.Time
	// strategy is the service's deployment strategy ("" or ROLLING: a
	// rolling update); lbs its load balancers.
	strategy types.DeploymentStrategy
	lbs      []types.LoadBalancer
}

func firstDeployCount(svc *types.Service) *int32 {
	if svc.DesiredCount != 0 {
		return nil
	}
	for _, t := range svc.Tags {
		if aws.ToString(t.Key) != handoff.DesiredCountTag {
			continue
		}
		var n int32
		if _, err := fmt.Sscanf(aws.ToString(t.Value), "%d", &n); err == nil && n > 0 {
			return &n
		}
	}
	return nil
}

func (d *Deployer) newRun(req Request, v verb) *run {
	return &run{
		Deployer: d,
		verb:     v,
		req:      req,
		res:      &Result{Status: StatusFailed, Image: req.Image, Start: d.clock.Now()},
		seen:     map[string]bool{},
	}
}

func (r *run) phase(name string) {
	r.reporter.Phase(name)
	r.log.Debug(name, "cluster", r.req.Cluster, "service", r.req.Service)
}

func (r *run) finish(error) { r.res.End = r.clock.Now() }

// inspect reads what every run that rolls the service out follows it by:
// its load balancers, and the strategy it deploys with (rolling, or
// shifting traffic with lifecycle hooks to answer), saying when those
// hooks would wait for an answer this run cannot give.
func (r *run) inspect(svc *types.Service) {
	r.markSeen(svc)
	r.behindLB = len(svc.LoadBalancers) > 0
	r.lbs = svc.LoadBalancers
	if c := svc.DeploymentConfiguration; c != nil {
		r.strategy = c.Strategy
		if gates := unansweredGates(c); r.shifting() && len(gates) > 0 && r.req.Smoke == nil && r.req.Wait {
			r.log.Warn(fmt.Sprintf("the service pauses each deployment at %s for an answer and no smoke-path is set, so this run gives none: ECS takes the hook's timeout action (ROLLBACK unless it says otherwise) when it times out; set smoke-path (and smoke-header) to gate it", strings.Join(gates, " and ")))
		}
	}
}

func (r *run) deploy(ctx context.Context) (*Result, error) {
	res := r.res
	r.phase("describe service")
	svc, err := r.describeService(ctx)
	if err != nil {
		return res, err
	}
	r.inspect(svc)
	r.scaleTo = firstDeployCount(svc)
	res.PreviousTaskDefinitionARN, res.TaskDefinitionARN = aws.ToString(svc.TaskDefinition), aws.ToString(svc.TaskDefinition)

	svc, over, err := r.meetRollout(ctx, svc)
	if over || err != nil {
		return res, err
	}
	if !r.since.IsZero() {
		if over, err := r.endedSince(ctx, svc); over || err != nil {
			return res, err
		}
	}
	st := readRollout(svc)
	// The next revision is built from, and a failure returns to, the last
	// stable revision: never one still rolling out or one that failed.
	base := aws.ToString(svc.TaskDefinition)
	previous := ""
	if st.stable != nil {
		base, previous = aws.ToString(st.stable.TaskDefinition), aws.ToString(st.stable.TaskDefinition)
		res.PreviousTaskDefinitionARN, res.StableSince = previous, liveSince(st.stable)
	}
	out, err := r.describeTaskDefinition(ctx, base)
	if err != nil {
		return res, err
	}
	next, nextTD, err := r.nextRevision(ctx, out, st)
	if err == nil && (res.Status != StatusUnchanged || res.DryRun) {
		res.Diff = append(res.Diff, ServiceDiff(aws.ToString(svc.TaskDefinition), next, svc.DesiredCount, aws.ToInt32(r.scaleTo))...)
		if !res.DryRun { // said before anything changes (a dry run's front end shows them)
			r.log.Info("changes against the running revision:")
			for _, l := range res.Diff {
				r.log.Info("  " + l)
			}
		}
	}
	if err != nil || res.Status == StatusUnchanged || res.DryRun {
		return res, err
	}
	if r.req.PreDeploy != nil {
		r.phase("pre-deploy command")
		if err := r.preDeploy(ctx, svc, nextTD, res.Container); err != nil {
			return res, err
		}
	}

	r.phase("update service")
	id, err := r.update(ctx, next, r.scaleTo)
	if err != nil {
		return res, err
	}
	return res, r.rollout(ctx, next, id, previous)
}

// nextRevision is the revision to deploy: the one given, else a new one
// made from base (the last stable revision) with the image and variables
// asked for, registered (or, returning to a build, found again). It sets
// the result's status to unchanged when the service runs it already, and
// stops a dry run before anything is registered.
func (r *run) nextRevision(ctx context.Context, base *ecs.DescribeTaskDefinitionOutput, st rolloutState) (string, *types.TaskDefinition, error) {
	res := r.res
	var given *types.TaskDefinition
	var in *ecs.RegisterTaskDefinitionInput
	var same bool
	var err error
	if r.req.TaskDefinition != "" {
		if given, err = r.givenRevision(ctx, base.TaskDefinition); err != nil {
			return "", nil, err
		}
		same = aws.ToString(given.TaskDefinitionArn) == aws.ToString(base.TaskDefinition.TaskDefinitionArn)
		res.Diff = RevisionDiff(mustCopy(base.TaskDefinition), mustCopy(given))
	} else {
		if in, err = r.newRevision(base); err != nil {
			return "", nil, err
		}
		same = sameRegistration(in, base, res.Container)
		if running, err := NextRevision(base.TaskDefinition, base.Tags, res.Container, containerImage(base.TaskDefinition, res.Container)); err == nil {
			res.Diff = RevisionDiff(running, in)
		}
	}
	if same && st.rolling == nil {
		r.log.Info("service already runs this revision", "image", res.Image, "taskDefinition", aws.ToString(base.TaskDefinition.TaskDefinitionArn))
		res.Status = StatusUnchanged
		return "", nil, nil
	}
	if r.req.DryRun {
		res.DryRun, res.Status = true, StatusUnchanged
		return "", nil, nil
	}
	r.sayRollbackTarget(st)
	if given != nil {
		return aws.ToString(given.TaskDefinitionArn), given, nil
	}
	return r.register(ctx, in, aws.ToString(base.TaskDefinition.TaskDefinitionArn))
}

// givenRevision reads the revision the request names, to deploy as it is.
func (r *run) givenRevision(ctx context.Context, running *types.TaskDefinition) (*types.TaskDefinition, error) {
	res := r.res
	out, err := r.describeTaskDefinition(ctx, r.req.TaskDefinition)
	var ce *types.ClientException
	if errors.As(err, &ce) {
		return nil, r.revisionNotFound(ctx, aws.ToString(running.Family))
	}
	if err != nil {
		return nil, err
	}
	td := out.TaskDefinition
	if res.Container, err = ChooseContainer(td, r.req.Container, r.req.Repository); err != nil {
		return nil, err
	}
	res.Image = containerImage(td, res.Container)
	if f, g := aws.ToString(running.Family), aws.ToString(td.Family); f != g {
		r.log.Warn(fmt.Sprintf("task definition %s is of family %s, not %s that the service runs", lastPart(aws.ToString(td.TaskDefinitionArn)), g, f))
	}
	if res.Rendered, err = render(mustCopy(td)); err != nil {
		return nil, fmt.Errorf("render task definition: %w", err)
	}
	return td, nil
}

// newRevision is the registration of base with the image and variables
// the request asks for.
func (r *run) newRevision(base *ecs.DescribeTaskDefinitionOutput) (*ecs.RegisterTaskDefinitionInput, error) {
	res := r.res
	container, err := ChooseContainer(base.TaskDefinition, r.req.Container, r.req.Repository)
	if err != nil {
		return nil, err
	}
	res.Container = container
	in, err := NextRevision(base.TaskDefinition, base.Tags, container, r.req.Image)
	if err != nil {
		return nil, err
	}
	setVariables(in, container, r.req.Env, r.req.Secrets)
	if res.Rendered, err = render(in); err != nil {
		return nil, fmt.Errorf("render task definition: %w", err)
	}
	return in, nil
}

// revisionNotFound says that the revision asked for does not exist, and
// names the newest revisions of the family the service runs.
func (r *run) revisionNotFound(ctx context.Context, family string) error {
	e := &NotFoundError{Kind: ErrRevisionNotFound, Name: r.req.TaskDefinition, Where: "this account and region",
		Hint: "check {task-definition}: give family:revision or the ARN of a revision that exists"}
	list, err := r.ecs.ListTaskDefinitions(ctx, &ecs.ListTaskDefinitionsInput{FamilyPrefix: aws.String(family),
		Status: types.TaskDefinitionStatusActive, Sort: types.SortOrderDesc, MaxResults: aws.Int32(5)})
	if err == nil {
		for _, arn := range list.TaskDefinitionArns {
			e.Exists = append(e.Exists, lastPart(arn))
		}
	}
	return e
}

// register registers in, or, returning to a build, finds an identical
// earlier revision other than current.
func (r *run) register(ctx context.Context, in *ecs.RegisterTaskDefinitionInput, current string) (string, *types.TaskDefinition, error) {
	r.phase("register task definition")
	if r.verb == verbRollback {
		if arn := r.findIdentical(ctx, in, current); arn != "" {
			r.log.Info("reusing identical task definition", "taskDefinition", arn)
			out, err := r.describeTaskDefinition(ctx, arn)
			if err != nil {
				return "", nil, err
			}
			return arn, out.TaskDefinition, nil
		}
	}
	reg, err := r.ecs.RegisterTaskDefinition(ctx, in)
	if err != nil {
		return "", nil, fmt.Errorf("register task definition %s: %w", aws.ToString(in.Family), err)
	}
	next := aws.ToString(reg.TaskDefinition.TaskDefinitionArn)
	r.log.Info("registered task definition", "taskDefinition", next)
	return next, reg.TaskDefinition, nil
}

// sameRegistration reports whether in registers what base already is.
func sameRegistration(in *ecs.RegisterTaskDefinitionInput, base *ecs.DescribeTaskDefinitionOutput, container string) bool {
	cur, err := NextRevision(base.TaskDefinition, base.Tags, container, containerImage(base.TaskDefinition, container))
	if err != nil {
		return false
	}
	a, errA := json.Marshal(in)
	b, errB := json.Marshal(cur)
	return errA == nil && errB == nil && string(a) == string(b)
}

// mustCopy is td as the registration input that would make it, for
// printing.
func mustCopy(td *types.TaskDefinition) *ecs.RegisterTaskDefinitionInput {
	in := &ecs.RegisterTaskDefinitionInput{}
	if raw, err := json.Marshal(td); err == nil {
		_ = json.Unmarshal(raw, in)
	}
	return in
}

// rollout follows deployment id of revision next, which the service was
// just given, and returns the service to previous when it fails.
func (r *run) rollout(ctx context.Context, next, id, previous string) error {
	res := r.res
	res.TaskDefinitionARN, res.DeploymentID = next, id
	if !r.req.Wait {
		res.Status = StatusStarted
		return nil
	}
	r.phase("watch rollout")
	res.Watched = true
	if r.shifting() {
		return r.followShift(ctx, next, id, previous)
	}
	if r.behindLB {
		r.log.Info("the service is behind a load balancer: ECS completes the deployment once the new tasks pass its health check")
	}
	w, err := r.watchRollout(ctx, id)
	if err != nil {
		return err
	}
	if !w.completed {
		return r.recover(ctx, id, previous, w)
	}
	return r.checkLive(ctx, next, id, previous)
}

// checkLive ends a completed rollout of next: finds where it answers,
// smoke-checks it (a failure returns the service to previous) and prunes
// old revisions.
func (r *run) checkLive(ctx context.Context, next, id, previous string) error {
	res := r.res
	res.Status = StatusSucceeded
	r.locate(ctx, next)
	if r.req.Smoke != nil {
		r.phase("smoke check")
		if err := r.smoke(ctx); err != nil {
			res.Status = StatusFailed
			r.reporter.PhaseFailed()
			return r.returnTo(ctx, previous, &RolloutFailedError{Service: r.req.Service, DeploymentID: id, Reason: err.Error(), Cause: ErrSmokeFailed})
		}
	}
	if r.req.KeepRevisions > 0 {
		r.prune(ctx, next, previous)
	}
	return nil
}

// meetRollout handles a rollout in flight before a deploy: the same build
// is watched, not deployed again (over: the run ends there); a return from
// this build to the last stable revision is followed (over too); another
// build's rollout is waited for or superseded. It returns the service to
// deploy onto.
func (r *run) meetRollout(ctx context.Context, svc *types.Service) (_ *types.Service, over bool, err error) {
	res, st := r.res, readRollout(svc)
	if st.rolling == nil {
		return svc, false, nil
	}
	td, err := r.describeTaskDefinition(ctx, aws.ToString(st.rolling.TaskDefinition))
	if err != nil {
		return nil, false, err
	}
	container, err := ChooseContainer(td.TaskDefinition, r.req.Container, r.req.Repository)
	if err != nil {
		return nil, false, err
	}
	var from *types.Deployment
	sameBuild := containerImage(td.TaskDefinition, container) == r.req.Image
	if !sameBuild {
		if from, err = r.rollingBackFrom(ctx, svc, st, container); err != nil {
			return nil, false, err
		}
	}
	args := []any{"deployment", aws.ToString(st.rolling.Id), "taskDefinition", aws.ToString(st.rolling.TaskDefinition)}
	switch onMeet(sameBuild, from != nil, failed(st.rolling), r.req.OnRolloutInProgress == Supersede || r.req.DryRun) {
	case meetAttach:
		res.Container = container
		return nil, true, r.attach(ctx, st)
	case meetFollowReturn:
		res.Container = container
		return nil, true, r.awaitRollback(ctx, st, from)
	case meetDeployOverFailed:
		r.log.Info("the last rollout failed and was not rolled back; deploying over it", args...)
	case meetSupersede:
		r.log.Info("another build is rolling out: superseding it", args...)
	case meetWait:
		if svc, err = r.settle(ctx, svc); err != nil {
			return nil, false, err
		}
		r.markSeen(svc)
		res.PreviousTaskDefinitionARN, res.TaskDefinitionARN = aws.ToString(svc.TaskDefinition), aws.ToString(svc.TaskDefinition)
	}
	return svc, false, nil
}

// meeting is what a deploy does about a rollout in flight.
type meeting int

const (
	// meetAttach: the rollout is of this very build (a run cut short):
	// watch it, deploy nothing.
	meetAttach meeting = iota
	// meetFollowReturn: the service returns from this build to the last
	// stable revision: follow that, and say rolled back.
	meetFollowReturn
	// meetDeployOverFailed: another build's rollout failed and nothing
	// returns from it: deploy over it.
	meetDeployOverFailed
	// meetSupersede: replace another build's rollout at once.
	meetSupersede
	// meetWait: let another build's rollout settle, then deploy.
	meetWait
)

// onMeet chooses what a deploy does about a rollout in flight: of its own
// build (sameBuild), a return from its own build (returning), a rollout
// that failed, and whether the request supersedes (or is a dry run, which
// changes nothing either way).
func onMeet(sameBuild, returning, failed, supersede bool) meeting {
	switch {
	case sameBuild:
		return meetAttach
	case returning:
		return meetFollowReturn
	case failed:
		return meetDeployOverFailed
	case supersede:
		return meetSupersede
	}
	return meetWait
}

// attach follows a rollout of the very build asked for, started by a run
// that was cancelled or lost its runner: no new revision, no new
// deployment. If it fails, the service returns to the last stable revision.
func (r *run) attach(ctx context.Context, st rolloutState) error {
	res, id := r.res, aws.ToString(st.rolling.Id)
	res.TaskDefinitionARN, res.DeploymentID = aws.ToString(st.rolling.TaskDefinition), id
	previous := ""
	if st.stable != nil {
		previous = aws.ToString(st.stable.TaskDefinition)
		res.PreviousTaskDefinitionARN, res.StableSince = previous, liveSince(st.stable)
	}
	r.log.Info("this build is already rolling out: watching its deployment instead of starting another", "deployment", id, "taskDefinition", res.TaskDefinitionARN)
	if r.req.DryRun {
		res.DryRun, res.Status = true, StatusUnchanged
		return nil
	}
	r.sayRollbackTarget(st)
	if failed(st.rolling) {
		return r.recover(ctx, id, previous, watchOutcome{reason: aws.ToString(st.rolling.RolloutStateReason)})
	}
	if !r.req.Wait {
		res.Status = StatusStarted
		return nil
	}
	r.phase("watch rollout")
	res.Watched = true
	if r.shifting() { // a paused or baking deployment is followed, and gated, as a new one is
		return r.followShift(ctx, res.TaskDefinitionARN, id, previous)
	}
	w, err := r.watchRollout(ctx, id)
	if err != nil {
		return err
	}
	if w.completed {
		res.Status = StatusSucceeded
		return nil
	}
	return r.recover(ctx, id, previous, w)
}

// rollingBackFrom is the deployment of the requested image that the rollout
// in flight returns the service from: one that did not complete, replaced by
// a deployment of the last stable revision. nil when there is none.
func (r *run) rollingBackFrom(ctx context.Context, svc *types.Service, st rolloutState, container string) (*types.Deployment, error) {
	if st.stable == nil || aws.ToString(st.rolling.TaskDefinition) != aws.ToString(st.stable.TaskDefinition) {
		return nil, nil
	}
	for i := range svc.Deployments {
		d := &svc.Deployments[i]
		if d == st.rolling || completed(d) {
			continue
		}
		td, err := r.describeTaskDefinition(ctx, aws.ToString(d.TaskDefinition))
		if err != nil {
			return nil, err
		}
		if containerImage(td.TaskDefinition, container) == r.req.Image {
			return d, nil
		}
	}
	return nil, nil
}

// awaitRollback follows the return from this very build to the last stable
// revision, begun by ECS or by a run that did not live to see it end, and
// reports the build as rolled back instead of deploying it a second time.
func (r *run) awaitRollback(ctx context.Context, st rolloutState, from *types.Deployment) error {
	res, stable := r.res, aws.ToString(st.stable.TaskDefinition)
	res.PreviousTaskDefinitionARN, res.StableSince = stable, liveSince(st.stable)
	ferr := &RolloutFailedError{Service: r.req.Service, DeploymentID: aws.ToString(from.Id),
		Reason: cmpReason(aws.ToString(from.RolloutStateReason), "it did not complete") +
			"; the service is being returned to " + lastPart(stable) + ": not deploying this build again (push a fix, or run again once the return is done to retry it)"}
	r.log.Info("this build's rollout did not complete and the service is returning to the last stable revision: following that return",
		"deployment", aws.ToString(from.Id), "returnsTo", stable)
	if r.req.DryRun {
		res.DryRun, res.Status = true, StatusUnchanged
		return nil
	}
	r.phase("watch rollback")
	res.Watched = true
	w, err := r.watch(ctx, aws.ToString(st.rolling.Id))
	switch {
	case err != nil:
		ferr.RollbackErr = err
	case !w.completed:
		ferr.RollbackErr = fmt.Errorf("deployment %s: %s", aws.ToString(st.rolling.Id), w.reason)
	default:
		ferr.RolledBack = true
		res.Status, res.TaskDefinitionARN, res.DeploymentID = StatusRolledBack, stable, aws.ToString(st.rolling.Id)
	}
	return ferr
}

func cmpReason(reason, otherwise string) string {
	if reason == "" {
		return otherwise
	}
	return reason
}

// sayRollbackTarget names the revision a failure would return to.
func (r *run) sayRollbackTarget(st rolloutState) {
	if st.stable == nil {
		r.log.Warn("no deployment of this service has completed: a failed rollout has no stable revision to return to")
		return
	}
	r.log.Info(fmt.Sprintf("a failed rollout returns to %s, live since %s", lastPart(aws.ToString(st.stable.TaskDefinition)), liveSince(st.stable).UTC().Format(time.RFC3339)))
}

func (r *run) describeTaskDefinition(ctx context.Context, arn string) (*ecs.DescribeTaskDefinitionOutput, error) {
	out, err := r.ecs.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{
		TaskDefinition: aws.String(arn),
		Include:        []types.TaskDefinitionField{types.TaskDefinitionFieldTags},
	})
	if err != nil {
		return nil, fmt.Errorf("describe task definition %s: %w", arn, err)
	}
	return out, nil
}

// describeService finds the target service, or says what exists instead.
func (r *run) describeService(ctx context.Context) (*types.Service, error) {
	out, err := r.ecs.DescribeServices(ctx, &ecs.DescribeServicesInput{
		Cluster:  aws.String(r.req.Cluster),
		Services: []string{r.req.Service},
		Include:  []types.ServiceField{types.ServiceFieldTags},
	})
	var notFound *types.ClusterNotFoundException
	if errors.As(err, &notFound) {
		return nil, r.clusterNotFound(ctx)
	}
	if awserr.AccessDenied(err) {
		// A deploy role is scoped to its service: IAM answers a name it
		// does not hold before ECS could say it does not exist.
		return nil, r.deniedService(ctx, err)
	}
	if err != nil {
		return nil, fmt.Errorf("describe service %s: %w", r.req.Service, err)
	}
	for i := range out.Services {
		if aws.ToString(out.Services[i].Status) == "ACTIVE" {
			return &out.Services[i], nil
		}
	}
	return nil, r.serviceNotFound(ctx)
}

func (r *run) clusterNotFound(ctx context.Context) error {
	e := &NotFoundError{Kind: ErrClusterNotFound, Name: r.req.Cluster, Where: "this account and region",
		Hint: "check {cluster} and {aws-region}, or create the baseline with bootstrap apply"}
	p := ecs.NewListClustersPaginator(r.ecs, &ecs.ListClustersInput{})
	for p.HasMorePages() && len(e.Exists) < 20 {
		page, err := p.NextPage(ctx)
		if err != nil {
			break
		}
		for _, arn := range page.ClusterArns {
			e.Exists = append(e.Exists, lastPart(arn))
		}
	}
	return e
}

// deniedService says why these credentials may not describe the service:
// a cluster or service that does not exist (the names a typo would give),
// or a role that is another service's.
func (r *run) deniedService(ctx context.Context, denied error) error {
	if nf := r.clusterNotFound(ctx).(*NotFoundError); len(nf.Exists) > 0 && !slices.Contains(nf.Exists, lastPart(r.req.Cluster)) {
		return nf
	}
	if nf := r.serviceNotFound(ctx).(*NotFoundError); len(nf.Exists) > 0 && !slices.Contains(nf.Exists, lastPart(r.req.Service)) {
		return nf
	}
	return fmt.Errorf("describe service %s in cluster %s: %w (these credentials may not: a deploy role made by the bootstrap is allowed its own service alone; check that the role is this service's, the deployRoleArn of its bootstrap)", r.req.Service, r.req.Cluster, denied)
}

func (r *run) serviceNotFound(ctx context.Context) error {
	e := &NotFoundError{Kind: ErrServiceNotFound, Name: r.req.Service, Where: "cluster " + r.req.Cluster,
		Hint: "check {service}, or create the baseline with bootstrap apply"}
	p := ecs.NewListServicesPaginator(r.ecs, &ecs.ListServicesInput{Cluster: aws.String(r.req.Cluster)})
	for p.HasMorePages() && len(e.Exists) < 20 {
		page, err := p.NextPage(ctx)
		if err != nil {
			break
		}
		for _, arn := range page.ServiceArns {
			e.Exists = append(e.Exists, lastPart(arn))
		}
	}
	return e
}

// update points the service at a task definition and returns the id of the
// deployment ECS made for it.
func (r *run) update(ctx context.Context, taskDefinition string, desired *int32) (string, error) {
	if desired != nil {
		r.log.Info("scaling the service from zero", "desiredCount", *desired)
	}
	out, err := r.ecs.UpdateService(ctx, &ecs.UpdateServiceInput{
		Cluster:        aws.String(r.req.Cluster),
		Service:        aws.String(r.req.Service),
		TaskDefinition: aws.String(taskDefinition),
		DesiredCount:   desired,
		// A redeploy, and its return, start new tasks of the same revision.
		ForceNewDeployment: r.verb == verbRedeploy,
	})
	var svc *types.Service
	if err == nil {
		svc = out.Service
	} else {
		// The update may have landed with its answer lost: look before
		// reporting a service that is in fact rolling as unchanged.
		if svc, _ = r.describeService(ctx); svc == nil || aws.ToString(svc.TaskDefinition) != taskDefinition {
			return "", fmt.Errorf("update service %s: %w", r.req.Service, err)
		}
	}
	for _, dep := range svc.Deployments {
		if aws.ToString(dep.Status) == "PRIMARY" && aws.ToString(dep.TaskDefinition) == taskDefinition {
			r.log.Info("service updated", "deployment", aws.ToString(dep.Id), "taskDefinition", taskDefinition)
			return aws.ToString(dep.Id), nil
		}
	}
	return "", fmt.Errorf("update service %s: ECS made no deployment of %s", r.req.Service, taskDefinition)
}

// LastPart is what follows an ARN's last slash: family:revision of a task
// definition, a deployment's id.
func LastPart(arn string) string { return lastPart(arn) }

func lastPart(arn string) string {
	for i := len(arn) - 1; i >= 0; i-- {
		if arn[i] == '/' {
			return arn[i+1:]
		}
	}
	return arn
}

// reuseWindow is how many recent revisions of the family a rollback
// compares with the one it needs.
const reuseWindow = 10

// findIdentical returns the newest active revision of in's family, other
// than current, that registers exactly what in would, or "" if none does.
func (r *run) findIdentical(ctx context.Context, in *ecs.RegisterTaskDefinitionInput, current string) string {
	want, err := json.Marshal(in)
	if err != nil {
		return ""
	}
	list, err := r.ecs.ListTaskDefinitions(ctx, &ecs.ListTaskDefinitionsInput{
		FamilyPrefix: in.Family,
		Status:       types.TaskDefinitionStatusActive,
		Sort:         types.SortOrderDesc,
		MaxResults:   aws.Int32(reuseWindow),
	})
	if err != nil {
		r.log.Warn("could not list earlier revisions; registering a new one", "error", err)
		return ""
	}
	for _, arn := range list.TaskDefinitionArns {
		if arn == current || !strings.HasPrefix(lastPart(arn), aws.ToString(in.Family)+":") {
			continue
		}
		out, err := r.ecs.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{
			TaskDefinition: aws.String(arn),
			Include:        []types.TaskDefinitionField{types.TaskDefinitionFieldTags},
		})
		if err != nil {
			continue
		}
		c, err := NextRevision(out.TaskDefinition, out.Tags, r.res.Container, containerImage(out.TaskDefinition, r.res.Container))
		if err != nil {
			continue
		}
		if got, err := json.Marshal(c); err == nil && string(got) == string(want) {
			return arn
		}
	}
	return ""
}
