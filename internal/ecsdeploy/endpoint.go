package ecsdeploy

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"

	"github.com/autonote/deploy-action/internal/handoff"
)

// ELBAPI reads where a service's load balancer answers.
type ELBAPI interface {
	DescribeTargetGroups(ctx context.Context, in *elb.DescribeTargetGroupsInput, opts ...func(*elb.Options)) (*elb.DescribeTargetGroupsOutput, error)
	DescribeLoadBalancers(ctx context.Context, in *elb.DescribeLoadBalancersInput, opts ...func(*elb.Options)) (*elb.DescribeLoadBalancersOutput, error)
	DescribeListeners(ctx context.Context, in *elb.DescribeListenersInput, opts ...func(*elb.Options)) (*elb.DescribeListenersOutput, error)
	DescribeTags(ctx context.Context, in *elb.DescribeTagsInput, opts ...func(*elb.Options)) (*elb.DescribeTagsOutput, error)
	DescribeRules(ctx context.Context, in *elb.DescribeRulesInput, opts ...func(*elb.Options)) (*elb.DescribeRulesOutput, error)
}

// errBadDomainTag is a load balancer whose domain tag is no host name:
// nothing is sent to it, nor to the load balancer under that name.
var errBadDomainTag = errors.New("the load balancer's " + handoff.DomainTag + " tag is not a host name")

// WithLoadBalancers lets the engine name a service's load balancer as its
// URL. Without it (or with nil, the default) the URL is a task's own address.
func WithLoadBalancers(c ELBAPI) Option {
	return func(d *Deployer) error {
		d.elb = c
		return nil
	}
}

// lbURL is where the load balancer in front of svc answers: https:// when
// it listens on 443, else http://; "" when the service has none.
func (r *run) lbURL(ctx context.Context, svc *types.Service) (string, error) {
	if r.elb == nil || len(svc.LoadBalancers) == 0 || svc.LoadBalancers[0].TargetGroupArn == nil {
		return "", nil
	}
	tgs, err := r.elb.DescribeTargetGroups(ctx, &elb.DescribeTargetGroupsInput{TargetGroupArns: []string{aws.ToString(svc.LoadBalancers[0].TargetGroupArn)}})
	if err != nil {
		return "", fmt.Errorf("describe target group: %w", err)
	}
	if len(tgs.TargetGroups) == 0 || len(tgs.TargetGroups[0].LoadBalancerArns) == 0 {
		return "", nil // a target group no load balancer uses yet
	}
	arn := tgs.TargetGroups[0].LoadBalancerArns[0]
	lbs, err := r.elb.DescribeLoadBalancers(ctx, &elb.DescribeLoadBalancersInput{LoadBalancerArns: []string{arn}})
	if err != nil || len(lbs.LoadBalancers) == 0 {
		return "", fmt.Errorf("describe load balancer %s: %w", arn, err)
	}
	ls, err := r.elb.DescribeListeners(ctx, &elb.DescribeListenersInput{LoadBalancerArn: aws.String(arn)})
	if err != nil {
		return "", fmt.Errorf("describe listeners: %w", err)
	}
	scheme := "http://"
	for _, l := range ls.Listeners {
		if aws.ToInt32(l.Port) == 443 {
			scheme = "https://"
		}
	}
	dns := aws.ToString(lbs.LoadBalancers[0].DNSName)
	r.lbAddress = dns // every smoke and gate connection goes here, whatever the URL names
	if scheme == "https://" {
		tags, err := r.elb.DescribeTags(ctx, &elb.DescribeTagsInput{ResourceArns: []string{arn}})
		if err != nil {
			return "", fmt.Errorf("describe the load balancer's tags: %w", err)
		}
		for _, d := range tags.TagDescriptions {
			for _, t := range d.Tags {
				if v := aws.ToString(t.Value); aws.ToString(t.Key) == handoff.DomainTag && v != "" {
					if err := handoff.CheckHostName(v); err != nil {
						return "", fmt.Errorf("%w: %v; fix the tag on %s (the bootstrap config's domain)", errBadDomainTag, err, arn)
					}
					r.domain = v
					return scheme + v, nil
				}
			}
		}
	}
	return scheme + dns, nil
}
