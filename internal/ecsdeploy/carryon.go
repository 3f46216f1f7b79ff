package ecsdeploy

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// carryOnSlack is how much earlier than the first runner's start a deploy
// of the build may have begun and still count as its own: the two clocks
// (the runner's, ECS's) are not one.
const carryOnSlack = 5 * time.Second

// CarryOn finishes a deploy of req.Image that another runner started at
// since and could not finish (a replica of the deploy hook that stopped).
// It follows a rollout of the build still in flight, or the return from
// it; it reads, from the service's deployments, how a deploy of the build
// begun since then ended; and it deploys the build only when none began.
// It never registers or deploys the build a second time.
func (d *Deployer) CarryOn(ctx context.Context, req Request, since time.Time) (*Result, error) {
	if err := req.validate(verbDeploy); err != nil {
		return nil, err
	}
	if since.IsZero() {
		return nil, fmt.Errorf("carry on: no start time: give when the first runner started")
	}
	r := d.newRun(req, verbDeploy)
	r.since = since
	res, err := r.deploy(ctx)
	r.finish(err)
	return res, err
}

// endedSince reports, for a deploy carried on with no rollout of its build
// in flight, whether a deploy of the build began since the first runner
// started; if so it says how that deploy ended, and the run ends there.
func (r *run) endedSince(ctx context.Context, svc *types.Service) (over bool, err error) {
	res := r.res
	recs, err := r.deployments(ctx)
	if err != nil {
		return true, fmt.Errorf("carrying on a deploy: %w: not deploying the build again without knowing whether it was", err)
	}
	running := aws.ToString(svc.TaskDefinition)
	for i, rec := range recs { // newest first
		if rec.Image != r.req.Image || rec.Started.Before(r.since.Add(-carryOnSlack)) {
			continue
		}
		id := "ecs-svc/" + lastPart(rec.ARN)
		res.DeploymentID, res.Watched = id, true
		r.log.Info("carrying on: this build's deploy began before this runner; reading how it ended instead of deploying it again",
			"deployment", id, "status", rec.Status, "began", rec.Started.UTC().Format(time.RFC3339))
		previous := ""
		for _, older := range recs[i+1:] {
			if older.Status == string(types.ServiceDeploymentStatusSuccessful) && older.TaskDefinitionARN != rec.TaskDefinitionARN {
				previous = older.TaskDefinitionARN
				break
			}
		}
		if previous != "" {
			res.PreviousTaskDefinitionARN = previous
		}
		switch types.ServiceDeploymentStatus(rec.Status) {
		case types.ServiceDeploymentStatusSuccessful:
			res.TaskDefinitionARN = rec.TaskDefinitionARN
			r.phase("check the completed rollout")
			return true, r.checkLive(ctx, rec.TaskDefinitionARN, id, previous)
		case types.ServiceDeploymentStatusRollbackSuccessful:
			res.Status, res.TaskDefinitionARN = StatusRolledBack, running
			return true, &RolloutFailedError{Service: r.req.Service, DeploymentID: id, RolledBack: true,
				Reason: cmpReason(rec.Reason, "it did not complete") + "; ECS returned the service to " + lastPart(running)}
		case types.ServiceDeploymentStatusInProgress, types.ServiceDeploymentStatusPending, types.ServiceDeploymentStatusRollbackInProgress:
			res.TaskDefinitionARN = running
			return true, fmt.Errorf("carrying on a deploy: deployment %s of this build is %s, though the service shows no rollout of it: not deploying it again; run again to follow it", id, rec.Status)
		default:
			res.TaskDefinitionARN = running
			return true, &RolloutFailedError{Service: r.req.Service, DeploymentID: id,
				Reason: "it ended " + rec.Status + ": " + cmpReason(rec.Reason, "no reason given") + "; the service runs " + lastPart(running) + ": not deploying this build again"}
		}
	}
	r.log.Info("carrying on: no deploy of this build began since the first runner started; deploying it", "since", r.since.UTC().Format(time.RFC3339))
	return false, nil
}
