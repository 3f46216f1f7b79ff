package ecsdeploy

import (
	"context"
	"fmt"
)

// Resolver finds the image built from a commit: a full SHA or a unique
// prefix of it.
type Resolver interface {
	Resolve(ctx context.Context, sha string) (image string, err error)
}

// Rollback returns the target to the image built from sha. It is a deploy
// without a push: the image must already exist, and an unknown or ambiguous
// sha fails before anything changes. req.Image is ignored.
func (d *Deployer) Rollback(ctx context.Context, req Request, sha string, images Resolver) (*Result, error) {
	if images == nil {
		return nil, fmt.Errorf("rollback to %s: no image resolver", sha)
	}
	req.Image = ""
	if err := req.validate(verbRollback); err != nil {
		return nil, err
	}
	r := d.newRun(req, verbRollback)
	r.phase("resolve sha")
	image, err := images.Resolve(ctx, sha)
	if err != nil {
		err = fmt.Errorf("rollback to %s: %w", sha, err)
		r.finish(err)
		return r.res, err
	}
	r.req.Image, r.res.Image = image, image
	r.log.Info("resolved sha", "sha", sha, "image", image)
	res, err := r.deploy(ctx)
	r.finish(err)
	return res, err
}
