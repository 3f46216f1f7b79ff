package ecsdeploy

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// Resolver finds the image built from a commit: a full SHA or a unique
// prefix of it.
type Resolver interface {
	Resolve(ctx context.Context, sha string) (image string, err error)
}

// RollbackTo names the build a rollback returns to.
type RollbackTo struct {
	// SHA is the commit, or a unique prefix of 7 or more characters.
	SHA string
	// Force returns even to a build no deployment of the service ever
	// completed with: its pre-deploy command (migrations) may never have
	// run, and it never passed the checks of a deploy. Without it, such a
	// rollback is refused before anything changes.
	Force bool
}

// ErrNeverLive is the cause of a rollback refused because no deployment
// of the service ever completed with the build.
var ErrNeverLive = errors.New("the build never ran on this service")

// Rollback returns the target to the image built from to.SHA. It is a
// deploy without a push: the image must already exist, and an unknown or
// ambiguous sha fails before anything changes; so does a build that was
// never live on the service, unless to.Force. req.Image is ignored.
func (d *Deployer) Rollback(ctx context.Context, req Request, to RollbackTo, images Resolver) (*Result, error) {
	if images == nil {
		return nil, fmt.Errorf("rollback to %s: no image resolver", to.SHA)
	}
	req.Image = ""
	if err := req.validate(verbRollback); err != nil {
		return nil, err
	}
	r := d.newRun(req, verbRollback)
	r.phase("resolve sha")
	image, err := images.Resolve(ctx, to.SHA)
	if err != nil {
		err = fmt.Errorf("rollback to %s: %w", to.SHA, err)
		r.finish(err)
		return r.res, err
	}
	r.req.Image, r.res.Image = image, image
	r.log.Info("resolved sha", "sha", to.SHA, "image", image)
	live, err := r.wasLive(ctx, image)
	switch {
	case err != nil:
		err = fmt.Errorf("rollback to %s: %w", to.SHA, err)
		r.finish(err)
		return r.res, err
	case !live && !to.Force:
		err = fmt.Errorf("rollback to %s: %w: no deployment of %s completed with %s, so its pre-deploy command (migrations) may never have run and it never passed a deploy's checks; nothing was changed (force returns to it anyway)", to.SHA, ErrNeverLive, r.req.Service, image)
		r.finish(err)
		return r.res, err
	case !live:
		r.log.Warn("force: returning to a build that never ran on this service; its pre-deploy command is not run", "image", image)
	}
	res, err := r.deploy(ctx)
	r.finish(err)
	return res, err
}

// wasLive reports whether a deployment of the service completed with
// image (the one it runs now counts): ECS keeps the service's deployments.
func (r *run) wasLive(ctx context.Context, image string) (bool, error) {
	svc, err := r.describeService(ctx)
	if err != nil {
		return false, err
	}
	imageOf := map[string]string{}
	runs := func(td string) (bool, error) {
		if _, ok := imageOf[td]; !ok {
			out, err := r.describeTaskDefinition(ctx, td)
			if err != nil {
				return false, err
			}
			c, err := ChooseContainer(out.TaskDefinition, r.req.Container, r.req.Repository)
			if err != nil {
				return false, err
			}
			imageOf[td] = containerImage(out.TaskDefinition, c)
		}
		return sameBuild(imageOf[td], image), nil
	}
	for _, d := range svc.Deployments {
		if d.RolloutState == types.DeploymentRolloutStateCompleted {
			if ok, err := runs(aws.ToString(d.TaskDefinition)); ok || err != nil {
				return ok, err
			}
		}
	}
	out, err := r.ecs.ListServiceDeployments(ctx, &ecs.ListServiceDeploymentsInput{Cluster: aws.String(r.req.Cluster), Service: aws.String(r.req.Service),
		Status: []types.ServiceDeploymentStatus{types.ServiceDeploymentStatusSuccessful}, MaxResults: aws.Int32(100)})
	if err != nil {
		return false, fmt.Errorf("list the service's deployments: %w", err)
	}
	var revs []string
	for _, b := range out.ServiceDeployments {
		if arn := aws.ToString(b.TargetServiceRevisionArn); arn != "" {
			revs = append(revs, arn)
		}
	}
	for len(revs) > 0 {
		batch := revs[:min(len(revs), 20)]
		revs = revs[len(batch):]
		rv, err := r.ecs.DescribeServiceRevisions(ctx, &ecs.DescribeServiceRevisionsInput{ServiceRevisionArns: batch})
		if err != nil {
			return false, fmt.Errorf("describe service revisions: %w", err)
		}
		for _, v := range rv.ServiceRevisions {
			if ok, err := runs(aws.ToString(v.TaskDefinition)); ok || err != nil {
				return ok, err
			}
		}
	}
	return false, nil
}

// sameBuild reports whether two image references name the same build: the
// same reference, or the same repository and commit tag.
func sameBuild(a, b string) bool {
	if a == b {
		return true
	}
	ca, cb := commitOf(a), commitOf(b)
	return ca != "" && ca == cb && a[:len(a)-len(ca)] == b[:len(b)-len(cb)]
}
