package bootstrap

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"

	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// targetGroup is where the load balancer sends requests: the tasks' IPs on
// the container port, checked on health-check-path. A strategy that shifts
// traffic has a second one (alternate: NAME-tg2), which ECS fills with the
// new tasks and swaps with the first at each deploy.
type targetGroup struct {
	s         *Stack
	alternate bool
	arn       string
	repair    bool // change is to set the health check path and attributes
}

func (t *targetGroup) describe() (string, string) {
	if t.alternate {
		return "alternate target group", t.name()
	}
	return "target group", t.name()
}

func (t *targetGroup) name() string {
	if t.alternate {
		return t.s.name("tg2")
	}
	return t.s.name("tg")
}

// record keeps the group's ARN among the outputs.
func (t *targetGroup) record() {
	t.s.set(func(o *Outputs) {
		if t.alternate {
			o.AlternateTargetGroupARN = t.arn
		} else {
			o.TargetGroupARN = t.arn
		}
	})
}
func (t *targetGroup) stage() int { return 2 }

func (t *targetGroup) find(ctx context.Context) (found, error) {
	s := t.s
	seen, err := t.read(ctx)
	if err != nil || seen == nil {
		return found{}, err
	}
	f, repair := judgeTargetGroup(*seen, s.cfg.HealthCheckPath, t.healthCheck(), strconv.Itoa(s.cfg.DeregistrationDelay), slices.Contains(s.cfg.Manage, "load-balancer"))
	t.repair = repair
	return f, nil
}

// targetGroupSeen is the target group as ELBv2 has it.
type targetGroupSeen struct {
	group elbtypes.TargetGroup
	owner Owner
	delay string // deregistration_delay.timeout_seconds
}

// read finds the target group of the stack's name, whose it is and its
// deregistration delay: nil when there is none.
func (t *targetGroup) read(ctx context.Context) (*targetGroupSeen, error) {
	s := t.s
	out, err := s.c.ELB.DescribeTargetGroups(ctx, &elb.DescribeTargetGroupsInput{Names: []string{t.name()}})
	var nf *elbtypes.TargetGroupNotFoundException
	if errors.As(err, &nf) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("describe target groups: %w", err)
	}
	if len(out.TargetGroups) == 0 {
		return nil, nil
	}
	seen := &targetGroupSeen{group: out.TargetGroups[0]}
	t.arn = aws.ToString(seen.group.TargetGroupArn)
	t.record()
	if seen.owner, err = s.lbOwner(ctx, t.arn); err != nil {
		return nil, err
	}
	attrs, err := s.c.ELB.DescribeTargetGroupAttributes(ctx, &elb.DescribeTargetGroupAttributesInput{TargetGroupArn: aws.String(t.arn)})
	if err != nil {
		return nil, fmt.Errorf("describe target group attributes: %w", err)
	}
	for _, a := range attrs.Attributes {
		if aws.ToString(a.Key) == "deregistration_delay.timeout_seconds" {
			seen.delay = aws.ToString(a.Value)
		}
	}
	return seen, nil
}

// judgeTargetGroup compares the target group's health check and
// deregistration delay with the config's; it reports whether apply is to
// set them.
func judgeTargetGroup(seen targetGroupSeen, path string, hc *elb.ModifyTargetGroupInput, delay string, managed bool) (found, bool) {
	tg := seen.group
	arn := aws.ToString(tg.TargetGroupArn)
	f := found{owner: seen.owner, id: arn}
	var ds []drift
	if p := aws.ToString(tg.HealthCheckPath); p != path {
		ds = append(ds, drift{fmt.Sprintf("health check path %s, the config says %s", p, path),
			fmt.Sprintf("aws elbv2 modify-target-group --target-group-arn %s --health-check-path %s", arn, path)})
	}
	if aws.ToInt32(tg.HealthCheckIntervalSeconds) != *hc.HealthCheckIntervalSeconds ||
		aws.ToInt32(tg.HealthyThresholdCount) != *hc.HealthyThresholdCount || aws.ToInt32(tg.UnhealthyThresholdCount) != *hc.UnhealthyThresholdCount ||
		aws.ToInt32(tg.HealthCheckTimeoutSeconds) != *hc.HealthCheckTimeoutSeconds {
		ds = append(ds, drift{fmt.Sprintf("health check every %d s (timeout %d s), %d to be healthy and %d unhealthy; the config says every %d s (timeout %d s), %d and %d: a new task takes traffic after %d s instead of %d s",
			aws.ToInt32(tg.HealthCheckIntervalSeconds), aws.ToInt32(tg.HealthCheckTimeoutSeconds), aws.ToInt32(tg.HealthyThresholdCount), aws.ToInt32(tg.UnhealthyThresholdCount),
			*hc.HealthCheckIntervalSeconds, *hc.HealthCheckTimeoutSeconds, *hc.HealthyThresholdCount, *hc.UnhealthyThresholdCount,
			*hc.HealthCheckIntervalSeconds**hc.HealthyThresholdCount, aws.ToInt32(tg.HealthCheckIntervalSeconds)*aws.ToInt32(tg.HealthyThresholdCount)),
			fmt.Sprintf("aws elbv2 modify-target-group --target-group-arn %s --health-check-interval-seconds %d --health-check-timeout-seconds %d --healthy-threshold-count %d --unhealthy-threshold-count %d",
				arn, *hc.HealthCheckIntervalSeconds, *hc.HealthCheckTimeoutSeconds, *hc.HealthyThresholdCount, *hc.UnhealthyThresholdCount)})
	}
	if seen.delay != "" && seen.delay != delay {
		ds = append(ds, drift{fmt.Sprintf("deregistration delay %s s, the config says %s s: every deploy waits it before an old task stops", seen.delay, delay),
			fmt.Sprintf("aws elbv2 modify-target-group-attributes --target-group-arn %s --attributes Key=deregistration_delay.timeout_seconds,Value=%s", arn, delay)})
	}
	return f, sortDrift(&f, "load-balancer", managed, ds) && len(ds) > 0
}

// healthCheck is the target group's health check for an API with short
// requests, as AWS's guidance for faster ECS deployments tunes it: every
// health-check-interval seconds (5), 2 answers in a row to take traffic
// (10 s instead of the target group's default 150 s), 2 misses to be
// unhealthy, a 3 s timeout (under the interval, above a healthy answer).
func (t *targetGroup) healthCheck() *elb.ModifyTargetGroupInput {
	return &elb.ModifyTargetGroupInput{
		TargetGroupArn:  aws.String(t.arn),
		HealthCheckPath: aws.String(t.s.cfg.HealthCheckPath), HealthCheckIntervalSeconds: aws.Int32(int32(t.s.cfg.HealthCheckInterval)),
		HealthCheckTimeoutSeconds: aws.Int32(3), HealthyThresholdCount: aws.Int32(2), UnhealthyThresholdCount: aws.Int32(2),
	}
}

func (t *targetGroup) create(ctx context.Context) (string, error) {
	s := t.s
	out, err := s.c.ELB.CreateTargetGroup(ctx, &elb.CreateTargetGroupInput{
		Name: aws.String(t.name()), Protocol: elbtypes.ProtocolEnumHttp, Port: aws.Int32(s.cfg.ContainerPort),
		VpcId: aws.String(s.get().VPCID), TargetType: elbtypes.TargetTypeEnumIp,
		HealthCheckPath: aws.String(s.cfg.HealthCheckPath), HealthCheckIntervalSeconds: aws.Int32(int32(s.cfg.HealthCheckInterval)),
		HealthCheckTimeoutSeconds: aws.Int32(3), HealthyThresholdCount: aws.Int32(2), UnhealthyThresholdCount: aws.Int32(2),
		Matcher: &elbtypes.Matcher{HttpCode: aws.String("200-399")}, Tags: elbTag.list(s.tagMap()),
	})
	if err != nil {
		return "", fmt.Errorf("create target group: %w", err)
	}
	t.arn = aws.ToString(out.TargetGroups[0].TargetGroupArn)
	t.record()
	t.repair = true
	return t.arn, t.change(ctx)
}

// change sets the health check and the deregistration delay.
func (t *targetGroup) change(ctx context.Context) error {
	if !t.repair {
		return nil
	}
	s := t.s
	if _, err := s.c.ELB.ModifyTargetGroup(ctx, t.healthCheck()); err != nil {
		return fmt.Errorf("set the target group's health check: %w", err)
	}
	_, err := s.c.ELB.ModifyTargetGroupAttributes(ctx, &elb.ModifyTargetGroupAttributesInput{TargetGroupArn: aws.String(t.arn),
		Attributes: []elbtypes.TargetGroupAttribute{{Key: aws.String("deregistration_delay.timeout_seconds"), Value: aws.String(strconv.Itoa(s.cfg.DeregistrationDelay))}}})
	return wrap("set the target group's deregistration delay", err)
}

func (t *targetGroup) destroy(ctx context.Context) error {
	_, err := t.s.c.ELB.DeleteTargetGroup(ctx, &elb.DeleteTargetGroupInput{TargetGroupArn: aws.String(t.arn)})
	return wrap("delete target group", err)
}
