package ecsdeploy

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
)

// ELBAPI reads where a service's load balancer answers.
type ELBAPI interface {
	DescribeTargetGroups(ctx context.Context, in *elb.DescribeTargetGroupsInput, opts ...func(*elb.Options)) (*elb.DescribeTargetGroupsOutput, error)
	DescribeLoadBalancers(ctx context.Context, in *elb.DescribeLoadBalancersInput, opts ...func(*elb.Options)) (*elb.DescribeLoadBalancersOutput, error)
	DescribeListeners(ctx context.Context, in *elb.DescribeListenersInput, opts ...func(*elb.Options)) (*elb.DescribeListenersOutput, error)
	DescribeTags(ctx context.Context, in *elb.DescribeTagsInput, opts ...func(*elb.Options)) (*elb.DescribeTagsOutput, error)
	DescribeRules(ctx context.Context, in *elb.DescribeRulesInput, opts ...func(*elb.Options)) (*elb.DescribeRulesOutput, error)
}

// DomainTag on a load balancer is the name on its certificate, the name
// users call: the bootstrap's domain. The URL is https://<it>, and the
// smoke check sends it (SNI, Host) to the load balancer's address and
// verifies the certificate against it.
const DomainTag = "deploy-action:domain"

// CheckHostName says why name is not a host name users may call (RFC
// 1123: dot-separated labels of letters, digits and inner hyphens, at
// least two, 63 characters a label and 253 in all), or nil. A port, a path,
// a user or a space would send requests meant for the load balancer
// somewhere else.
func CheckHostName(name string) error {
	if len(name) > 253 {
		return fmt.Errorf("%q is longer than a host name's 253 characters", name)
	}
	labels := strings.Split(name, ".")
	if len(labels) < 2 {
		return fmt.Errorf("%q is not a host name: give the whole name users call, e.g. api.autonote.example", name)
	}
	for _, l := range labels {
		ok := len(l) > 0 && len(l) <= 63 && l[0] != '-' && l[len(l)-1] != '-'
		for _, c := range l {
			ok = ok && (c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-')
		}
		if !ok {
			return fmt.Errorf("%q is not a host name: only letters, digits, inner hyphens and dots, no scheme, port, path, user or space (e.g. api.autonote.example)", name)
		}
	}
	return nil
}

// errBadDomainTag is a load balancer whose domain tag is no host name:
// nothing is sent to it, nor to the load balancer under that name.
var errBadDomainTag = errors.New("the load balancer's " + DomainTag + " tag is not a host name")

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
				if v := aws.ToString(t.Value); aws.ToString(t.Key) == DomainTag && v != "" {
					if err := CheckHostName(v); err != nil {
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
