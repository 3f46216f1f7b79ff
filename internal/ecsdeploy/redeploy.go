package ecsdeploy

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// Redeploy starts a new deployment of the revision the service runs (its
// last stable one): new tasks of the same image and task definition, which
// read the secrets again. It is watched, explained and, when it fails,
// followed by a return to that revision, as a deploy is. req.Image is
// ignored.
func (d *Deployer) Redeploy(ctx context.Context, req Request) (*Result, error) {
	req.Image = ""
	if err := req.validate(verbRedeploy); err != nil {
		return nil, err
	}
	r := d.newRun(req, verbRedeploy)
	res, err := r.redeploy(ctx)
	r.finish(err)
	return res, err
}

func (r *run) redeploy(ctx context.Context) (*Result, error) {
	res := r.res
	res.Image = ""
	r.phase("describe service")
	svc, err := r.describeService(ctx)
	if err != nil {
		return res, err
	}
	r.inspect(svc) // a blue/green or canary service is followed, and gated, as a deploy is
	if st := readRollout(svc); st.rolling != nil && !failed(st.rolling) && r.req.OnRolloutInProgress != Supersede && !r.req.DryRun {
		if svc, err = r.settle(ctx, svc); err != nil {
			return res, err
		}
	}
	st := readRollout(svc)
	current := aws.ToString(svc.TaskDefinition)
	if st.stable != nil {
		current = aws.ToString(st.stable.TaskDefinition)
		res.StableSince = liveSince(st.stable)
	}
	res.PreviousTaskDefinitionARN, res.TaskDefinitionARN = current, current
	td, err := r.describeTaskDefinition(ctx, current)
	if err != nil {
		return res, err
	}
	if res.Container, err = ChooseContainer(td.TaskDefinition, r.req.Container, r.req.Repository); err != nil {
		return res, err
	}
	res.Image = containerImage(td.TaskDefinition, res.Container)
	r.log.Info("redeploying the revision the service runs", "taskDefinition", current, "image", res.Image)
	if r.req.DryRun {
		res.DryRun, res.Status = true, StatusUnchanged
		return res, nil
	}
	r.sayRollbackTarget(st)
	r.phase("update service")
	id, err := r.update(ctx, current, nil)
	if err != nil {
		return res, err
	}
	return res, r.rollout(ctx, current, id, current)
}
