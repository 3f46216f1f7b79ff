package bootstrap

import (
	"context"
	"errors"
	"fmt"
	"slices"

	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/autonote/deploy-action/internal/handoff"
	"github.com/aws/aws-sdk-go-v2/aws"
)

// loadBalancer is the Application Load Balancer in the public subnets and
// its listeners: HTTP forwarding to the target group, or, with a
// certificate, HTTPS forwarding and HTTP redirecting to it.
type loadBalancer struct {
	s         *Stack
	arn       string
	listeners map[int32]string // port -> listener ARN
	tagDomain bool             // the domain tag is to be set
	owner     Owner
}

func (l *loadBalancer) describe() (string, string) { return "load balancer", l.s.name("alb") }
func (l *loadBalancer) stage() int                 { return 3 }

func (l *loadBalancer) find(ctx context.Context) (found, error) {
	s := l.s
	seen, err := l.read(ctx)
	if err != nil || seen == nil {
		return found{}, err
	}
	l.listeners = seen.listeners
	f, tagDomain := judgeLoadBalancer(*seen, s.cfg.Name, l.ports(), s.cfg.Domain, slices.Contains(s.cfg.Manage, "load-balancer"))
	l.tagDomain, l.owner = tagDomain, f.owner
	return f, nil
}

// loadBalancerSeen is the load balancer as ELBv2 has it.
type loadBalancerSeen struct {
	arn       string
	tags      map[string]string
	listeners map[int32]string // port -> listener ARN
}

// read finds the load balancer of the stack's name, its tags and its
// listeners: nil when there is none.
func (l *loadBalancer) read(ctx context.Context) (*loadBalancerSeen, error) {
	s := l.s
	out, err := s.c.ELB.DescribeLoadBalancers(ctx, &elb.DescribeLoadBalancersInput{Names: []string{s.name("alb")}})
	var nf *elbtypes.LoadBalancerNotFoundException
	if errors.As(err, &nf) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("describe load balancers: %w", err)
	}
	if len(out.LoadBalancers) == 0 {
		return nil, nil
	}
	lb := out.LoadBalancers[0]
	l.arn = aws.ToString(lb.LoadBalancerArn)
	s.set(func(o *Outputs) { o.LoadBalancerARN, o.LoadBalancerDNS = l.arn, aws.ToString(lb.DNSName) })
	tags, err := s.lbTags(ctx, l.arn)
	if err != nil {
		return nil, err
	}
	seen := &loadBalancerSeen{arn: l.arn, tags: tags}
	if err := l.readListeners(ctx); err != nil {
		return nil, err
	}
	seen.listeners = l.listeners
	return seen, nil
}

// judgeLoadBalancer wants a listener on each port and, with a domain, the
// domain tag the action reads; it reports whether apply is to set the tag.
func judgeLoadBalancer(seen loadBalancerSeen, stack string, ports []int32, domain string, managed bool) (found, bool) {
	f := found{owner: ownerOf(seen.tags, stack), whose: whoseOf(seen.tags, stack), id: seen.arn}
	var ds []drift
	for _, p := range ports {
		if seen.listeners[p] == "" {
			ds = append(ds, drift{fmt.Sprintf("no listener on port %d", p), ""})
		}
	}
	tagDomain := false
	if have := seen.tags[handoff.DomainTag]; domain != "" && have != domain {
		ds = append(ds, drift{fmt.Sprintf("domain tag %q, the config says %q (the action's url and smoke check read it)", have, domain),
			fmt.Sprintf("aws elbv2 add-tags --resource-arns %s --tags Key=%s,Value=%s", seen.arn, handoff.DomainTag, domain)})
		tagDomain = true
	}
	// Set on ours (or one handed over) only: an adopted one gets the advice.
	if !sortDrift(&f, "load-balancer", managed, ds) {
		tagDomain = false
	}
	return f, tagDomain
}

// domainTags are the load balancer's tags beside the stack's: the domain.
func (l *loadBalancer) domainTags() []elbtypes.Tag {
	if d := l.s.cfg.Domain; d != "" {
		return []elbtypes.Tag{{Key: aws.String(handoff.DomainTag), Value: aws.String(d)}}
	}
	return nil
}

// productionPort is the listener users reach the tasks on: HTTPS with a
// certificate (HTTP then redirects), else HTTP.
func (l *loadBalancer) productionPort() int32 {
	if l.s.cfg.CertificateARN != "" {
		return 443
	}
	return 80
}

func (l *loadBalancer) ports() []int32 {
	if l.s.cfg.CertificateARN != "" {
		return []int32{80, 443}
	}
	return []int32{80}
}

func (l *loadBalancer) readListeners(ctx context.Context) error {
	out, err := l.s.c.ELB.DescribeListeners(ctx, &elb.DescribeListenersInput{LoadBalancerArn: aws.String(l.arn)})
	if err != nil {
		return fmt.Errorf("describe listeners: %w", err)
	}
	l.listeners = map[int32]string{}
	for _, ls := range out.Listeners {
		l.listeners[aws.ToInt32(ls.Port)] = aws.ToString(ls.ListenerArn)
	}
	return nil
}

func (l *loadBalancer) create(ctx context.Context) (string, error) {
	s := l.s
	o := s.get()
	out, err := s.c.ELB.CreateLoadBalancer(ctx, &elb.CreateLoadBalancerInput{
		Name: aws.String(s.name("alb")), Subnets: o.PublicSubnetIDs, SecurityGroups: []string{o.LoadBalancerSecurityGroupID},
		Scheme: elbtypes.LoadBalancerSchemeEnumInternetFacing, Type: elbtypes.LoadBalancerTypeEnumApplication,
		IpAddressType: elbtypes.IpAddressTypeIpv4, Tags: append(elbTag.list(s.tagMap()), l.domainTags()...),
	})
	if err != nil {
		return "", fmt.Errorf("create load balancer: %w", err)
	}
	lb := out.LoadBalancers[0]
	l.arn = aws.ToString(lb.LoadBalancerArn)
	s.set(func(o *Outputs) { o.LoadBalancerARN, o.LoadBalancerDNS = l.arn, aws.ToString(lb.DNSName) })
	l.listeners, l.owner = map[int32]string{}, OwnerUs
	return l.arn, l.change(ctx)
}

// change adds the listeners that are missing.
func (l *loadBalancer) change(ctx context.Context) error {
	s := l.s
	if l.tagDomain {
		if _, err := s.c.ELB.AddTags(ctx, &elb.AddTagsInput{ResourceArns: []string{l.arn}, Tags: l.domainTags()}); err != nil {
			return fmt.Errorf("tag the load balancer with its domain: %w", err)
		}
		l.tagDomain = false
	}
	tg := s.get().TargetGroupARN
	forward := []elbtypes.Action{{Type: elbtypes.ActionTypeEnumForward, TargetGroupArn: aws.String(tg)}}
	for _, p := range l.ports() {
		if l.listeners[p] != "" {
			continue
		}
		in := &elb.CreateListenerInput{LoadBalancerArn: aws.String(l.arn), Port: aws.Int32(p), Protocol: elbtypes.ProtocolEnumHttp, DefaultActions: forward, Tags: elbTag.list(s.tagMap())}
		switch {
		case p == 443:
			in.Protocol, in.SslPolicy = elbtypes.ProtocolEnumHttps, aws.String(tlsPolicy)
			in.Certificates = []elbtypes.Certificate{{CertificateArn: aws.String(s.cfg.CertificateARN)}}
		case s.cfg.CertificateARN != "":
			in.DefaultActions = []elbtypes.Action{{Type: elbtypes.ActionTypeEnumRedirect, RedirectConfig: &elbtypes.RedirectActionConfig{
				Protocol: aws.String("HTTPS"), Port: aws.String("443"), StatusCode: elbtypes.RedirectActionStatusCodeEnumHttp301,
			}}}
		}
		out, err := s.c.ELB.CreateListener(ctx, in)
		if err != nil {
			return fmt.Errorf("create the listener on port %d: %w", p, err)
		}
		l.listeners[p] = aws.ToString(out.Listeners[0].ListenerArn)
	}
	return nil
}

func (l *loadBalancer) destroy(ctx context.Context) error {
	_, err := l.s.c.ELB.DeleteLoadBalancer(ctx, &elb.DeleteLoadBalancerInput{LoadBalancerArn: aws.String(l.arn)})
	return wrap("delete load balancer", err)
}
