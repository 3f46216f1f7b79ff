package ecsdeploy

import (
	"context"
	"slices"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// prune deregisters the family's active revisions older than the newest
// KeepRevisions, except those a deployment of the service uses, the one
// just deployed and the rollback target. A failure here never fails the
// deploy: it is a warning, and the next deploy tries again.
func (r *run) prune(ctx context.Context, next, previous string) {
	family, _, _ := strings.Cut(lastPart(next), ":")
	keep := map[string]bool{next: true, previous: true}
	if svc, err := r.describeService(ctx); err == nil {
		for _, d := range svc.Deployments {
			keep[aws.ToString(d.TaskDefinition)] = true
		}
	} else {
		r.log.Warn("keep-revisions: could not read the service's deployments; nothing deregistered", "error", err)
		return
	}
	type rev struct {
		arn string
		n   int
	}
	var revs []rev
	p := ecs.NewListTaskDefinitionsPaginator(r.ecs, &ecs.ListTaskDefinitionsInput{FamilyPrefix: aws.String(family), Status: types.TaskDefinitionStatusActive})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			r.log.Warn("keep-revisions: could not list the revisions; nothing deregistered", "error", err)
			return
		}
		for _, arn := range page.TaskDefinitionArns {
			f, num, _ := strings.Cut(lastPart(arn), ":")
			if n, err := strconv.Atoi(num); err == nil && f == family {
				revs = append(revs, rev{arn, n})
			}
		}
	}
	slices.SortFunc(revs, func(a, b rev) int { return b.n - a.n })
	for i, v := range revs {
		if i < r.req.KeepRevisions || keep[v.arn] {
			continue
		}
		if _, err := r.ecs.DeregisterTaskDefinition(ctx, &ecs.DeregisterTaskDefinitionInput{TaskDefinition: aws.String(v.arn)}); err != nil {
			r.log.Warn("keep-revisions: could not deregister", "taskDefinition", lastPart(v.arn), "error", err)
			continue
		}
		r.res.Deregistered = append(r.res.Deregistered, v.arn)
	}
	if n := len(r.res.Deregistered); n > 0 {
		r.log.Info("keep-revisions: deregistered old revisions", "count", n, "kept", r.req.KeepRevisions, "oldest", lastPart(r.res.Deregistered[n-1]))
	}
}
