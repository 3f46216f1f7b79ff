package ecssim

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// maxHistory is how many deployments of a service the simulator remembers.
const maxHistory = 50

// remember keeps a rollout the service was asked for in its history,
// newest first. A return that ECS's circuit breaker starts is part of the
// deployment it undoes, as in ECS, and is not listed on its own.
func (sv *service) remember(r *rollout) {
	sv.history = append([]*rollout{r}, sv.history...)
	if len(sv.history) > maxHistory {
		sv.history = sv.history[:maxHistory]
	}
}

// serviceDeployment is how ListServiceDeployments shows a rollout.
func (sv *service) serviceDeployment(r *rollout, region string) types.ServiceDeploymentBrief {
	b := types.ServiceDeploymentBrief{
		ServiceDeploymentArn:     aws.String(sv.deploymentARN(r, region)),
		ServiceArn:               sv.svc.ServiceArn,
		ClusterArn:               sv.svc.ClusterArn,
		TargetServiceRevisionArn: aws.String(revisionARN(sv, aws.ToString(r.d.TaskDefinition), region)),
		CreatedAt:                aws.Time(r.start),
		StartedAt:                aws.Time(r.start),
	}
	finished := func(at *time.Time, status types.ServiceDeploymentStatus, reason string) {
		b.Status, b.FinishedAt = status, at
		if reason != "" {
			b.StatusReason = aws.String(reason)
		}
	}
	if sh := r.shift; sh != nil {
		b.Status = sh.status
		if sh.reason != "" {
			b.StatusReason = aws.String(sh.reason)
		}
		if !sh.finished.IsZero() {
			b.FinishedAt = aws.Time(sh.finished)
		}
		return b
	}
	switch {
	case r.d.RolloutState == types.DeploymentRolloutStateCompleted:
		finished(r.d.UpdatedAt, types.ServiceDeploymentStatusSuccessful, "")
	case r.d.RolloutState == types.DeploymentRolloutStateFailed && r.rolledBackBy != nil:
		if r.rolledBackBy.d.RolloutState == types.DeploymentRolloutStateCompleted {
			finished(r.rolledBackBy.d.UpdatedAt, types.ServiceDeploymentStatusRollbackSuccessful, aws.ToString(r.d.RolloutStateReason))
		} else {
			b.Status, b.StatusReason = types.ServiceDeploymentStatusRollbackInProgress, r.d.RolloutStateReason
		}
	case r.d.RolloutState == types.DeploymentRolloutStateFailed:
		finished(r.d.UpdatedAt, types.ServiceDeploymentStatusStopped, aws.ToString(r.d.RolloutStateReason))
	case aws.ToString(r.d.Status) == "PRIMARY" && sv.has(r):
		b.Status = types.ServiceDeploymentStatusInProgress
	default:
		finished(r.d.UpdatedAt, types.ServiceDeploymentStatusStopped, "a newer deployment replaced it before it completed")
	}
	return b
}

func (sv *service) deploymentARN(r *rollout, region string) string {
	cluster := nameOf(aws.ToString(sv.svc.ClusterArn))
	return fmt.Sprintf("arn:aws:ecs:%s:%s:service-deployment/%s/%s/%s", region, accountOf(aws.ToString(sv.svc.ClusterArn)),
		cluster, aws.ToString(sv.svc.ServiceName), strings.TrimPrefix(aws.ToString(r.d.Id), "ecs-svc/"))
}

// revisionARN names the service revision of a task definition: the
// simulator keeps one per service and task definition.
func revisionARN(sv *service, tdARN, region string) string {
	family, rev, _ := strings.Cut(nameOf(tdARN), ":")
	return fmt.Sprintf("arn:aws:ecs:%s:%s:service-revision/%s/%s/%s-%s", region, accountOf(aws.ToString(sv.svc.ClusterArn)),
		nameOf(aws.ToString(sv.svc.ClusterArn)), aws.ToString(sv.svc.ServiceName), family, rev)
}

func (s *Simulator) listServiceDeployments(ctx context.Context, c *call) (any, error) {
	var in ecs.ListServiceDeploymentsInput
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	sv, err := s.findService(ctx, c, in.Cluster, aws.ToString(in.Service))
	if err != nil {
		return nil, err
	}
	limit := int(aws.ToInt32(in.MaxResults))
	if limit <= 0 || limit > 100 {
		limit = 20
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.advance(sv)
	out := &ecs.ListServiceDeploymentsOutput{ServiceDeployments: []types.ServiceDeploymentBrief{}}
	for _, r := range sv.history {
		if len(out.ServiceDeployments) == limit {
			break
		}
		b := sv.serviceDeployment(r, c.region)
		if len(in.Status) > 0 && !containsStatus(in.Status, b.Status) {
			continue
		}
		out.ServiceDeployments = append(out.ServiceDeployments, b)
	}
	return out, nil
}

func containsStatus(list []types.ServiceDeploymentStatus, s types.ServiceDeploymentStatus) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func (s *Simulator) describeServiceRevisions(_ context.Context, c *call) (any, error) {
	var in ecs.DescribeServiceRevisionsInput
	if err := c.decode(&in); err != nil {
		return nil, err
	}
	if len(in.ServiceRevisionArns) > 20 {
		return nil, &apiError{Type: "InvalidParameterException", Message: "serviceRevisionArns cannot contain more than 20 elements."}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := &ecs.DescribeServiceRevisionsOutput{ServiceRevisions: []types.ServiceRevision{}, Failures: []types.Failure{}}
	for _, arn := range in.ServiceRevisionArns {
		rev, ok := s.findRevision(arn, c.region)
		if !ok {
			out.Failures = append(out.Failures, types.Failure{Arn: aws.String(arn), Reason: aws.String("MISSING")})
			continue
		}
		out.ServiceRevisions = append(out.ServiceRevisions, rev)
	}
	return out, nil
}

func (s *Simulator) findRevision(arn, region string) (types.ServiceRevision, bool) {
	for _, sv := range s.services {
		for _, r := range sv.history {
			td := aws.ToString(r.d.TaskDefinition)
			if revisionARN(sv, td, region) != arn {
				continue
			}
			return types.ServiceRevision{
				ServiceRevisionArn:       aws.String(arn),
				ServiceArn:               sv.svc.ServiceArn,
				ClusterArn:               sv.svc.ClusterArn,
				TaskDefinition:           aws.String(td),
				LaunchType:               sv.svc.LaunchType,
				CapacityProviderStrategy: sv.svc.CapacityProviderStrategy,
				NetworkConfiguration:     r.d.NetworkConfiguration,
				CreatedAt:                aws.Time(r.start),
			}, true
		}
	}
	return types.ServiceRevision{}, false
}
