package bootstrap

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/autonote/deploy-action/internal/ecsdeploy"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
)

// The endpoint choices.
const (
	EndpointPublicIP     = "public-ip"
	EndpointLoadBalancer = "load-balancer"
)

// tlsPolicy is the listener's TLS policy: TLS 1.3 and 1.2 only.
const tlsPolicy = "ELBSecurityPolicy-TLS13-1-2-2021-06"

func (s *Stack) behindLoadBalancer() bool { return s.cfg.Endpoint == EndpointLoadBalancer }

// lbTags are the bootstrap's tags as ELBv2 takes them.
func (s *Stack) lbTags() []elbtypes.Tag {
	var out []elbtypes.Tag
	for k, v := range s.tagMap() {
		out = append(out, elbtypes.Tag{Key: aws.String(k), Value: aws.String(v)})
	}
	slices.SortFunc(out, func(a, b elbtypes.Tag) int { return strings.Compare(*a.Key, *b.Key) })
	return out
}

// lbOwner reads the owner of an ELBv2 resource from its tags.
func (s *Stack) lbOwner(ctx context.Context, arn string) (Owner, error) {
	out, err := s.c.ELB.DescribeTags(ctx, &elb.DescribeTagsInput{ResourceArns: []string{arn}})
	if err != nil {
		return OwnerNone, fmt.Errorf("describe tags of %s: %w", arn, err)
	}
	tags := map[string]string{}
	for _, d := range out.TagDescriptions {
		for _, t := range d.Tags {
			tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
		}
	}
	return s.owner(tags), nil
}

// lbSecurityGroup is the load balancer's own group: the listener ports
// from ingress-cidrs.
type lbSecurityGroup struct {
	s  *Stack
	id string
}

func (g *lbSecurityGroup) describe() (string, string) {
	return "load balancer security group", g.s.name("alb-sg")
}
func (g *lbSecurityGroup) stage() int { return 2 }

func (g *lbSecurityGroup) ports() []int32 {
	if g.s.cfg.CertificateARN != "" {
		return []int32{80, 443}
	}
	return []int32{80}
}

func (g *lbSecurityGroup) find(ctx context.Context) (found, error) {
	s := g.s
	vpcID := s.get().VPCID
	if vpcID == "" {
		return found{}, nil
	}
	out, err := s.c.EC2.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{Filters: []ec2types.Filter{filter("vpc-id", vpcID), filter("group-name", s.name("alb-sg"))}})
	if err != nil {
		return found{}, fmt.Errorf("describe security groups: %w", err)
	}
	if len(out.SecurityGroups) == 0 {
		return found{}, nil
	}
	sg := out.SecurityGroups[0]
	g.id = aws.ToString(sg.GroupId)
	s.set(func(o *Outputs) { o.LoadBalancerSecurityGroupID = g.id })
	f := found{owner: s.ec2Owner(sg.Tags), id: g.id}
	var ds []drift
	for _, p := range g.ports() {
		if !hasIngress(sg.IpPermissions, p, s.cfg.IngressCIDRs) {
			ds = append(ds, drift{fmt.Sprintf("ingress tcp %d from %s is missing", p, strings.Join(s.cfg.IngressCIDRs, ", ")), ""})
		}
	}
	if s.sortDrift(&f, "load-balancer", ds) {
		f.changes = nil
		for _, d := range ds {
			f.changes = append(f.changes, d.what)
		}
	}
	return f, nil
}

// hasIngress reports whether perms open tcp port to every one of cidrs.
func hasIngress(perms []ec2types.IpPermission, port int32, cidrs []string) bool {
	have := map[string]bool{}
	for _, p := range perms {
		if aws.ToString(p.IpProtocol) == "tcp" && aws.ToInt32(p.FromPort) == port && aws.ToInt32(p.ToPort) == port {
			for _, r := range p.IpRanges {
				have[aws.ToString(r.CidrIp)] = true
			}
			for _, r := range p.Ipv6Ranges {
				have[aws.ToString(r.CidrIpv6)] = true
			}
		}
	}
	for _, c := range cidrs {
		if !have[c] {
			return false
		}
	}
	return true
}

func (g *lbSecurityGroup) create(ctx context.Context) (string, error) {
	s := g.s
	name := s.name("alb-sg")
	out, err := s.c.EC2.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{
		GroupName: aws.String(name), VpcId: aws.String(s.get().VPCID),
		Description:       aws.String(fmt.Sprintf("%s: the load balancer's listeners", s.cfg.Name)),
		TagSpecifications: s.ec2Tags(ec2types.ResourceTypeSecurityGroup, name),
	})
	if err != nil {
		return "", fmt.Errorf("create security group %s: %w", name, err)
	}
	g.id = aws.ToString(out.GroupId)
	s.set(func(o *Outputs) { o.LoadBalancerSecurityGroupID = g.id })
	return g.id, g.change(ctx)
}

func (g *lbSecurityGroup) change(ctx context.Context) error {
	var perms []ec2types.IpPermission
	for _, p := range g.ports() {
		perms = append(perms, ingress(p, g.s.cfg.IngressCIDRs)...)
	}
	_, err := g.s.c.EC2.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: aws.String(g.id), IpPermissions: perms})
	var ae interface{ ErrorCode() string }
	if errors.As(err, &ae) && ae.ErrorCode() == "InvalidPermission.Duplicate" {
		return nil
	}
	return wrap("authorize the listener ports", err)
}

func (g *lbSecurityGroup) destroy(ctx context.Context) error {
	_, err := g.s.c.EC2.DeleteSecurityGroup(ctx, &ec2.DeleteSecurityGroupInput{GroupId: aws.String(g.id)})
	return wrap("delete security group", err)
}

// targetGroup is where the load balancer sends requests: the tasks' IPs on
// the container port, checked on health-check-path.
type targetGroup struct {
	s      *Stack
	arn    string
	repair bool // change is to set the health check path and attributes
}

func (t *targetGroup) describe() (string, string) { return "target group", t.s.name("tg") }
func (t *targetGroup) stage() int                 { return 2 }

func (t *targetGroup) find(ctx context.Context) (found, error) {
	s := t.s
	out, err := s.c.ELB.DescribeTargetGroups(ctx, &elb.DescribeTargetGroupsInput{Names: []string{s.name("tg")}})
	var nf *elbtypes.TargetGroupNotFoundException
	if errors.As(err, &nf) {
		return found{}, nil
	}
	if err != nil {
		return found{}, fmt.Errorf("describe target groups: %w", err)
	}
	if len(out.TargetGroups) == 0 {
		return found{}, nil
	}
	tg := out.TargetGroups[0]
	t.arn = aws.ToString(tg.TargetGroupArn)
	s.set(func(o *Outputs) { o.TargetGroupARN = t.arn })
	owner, err := s.lbOwner(ctx, t.arn)
	if err != nil {
		return found{}, err
	}
	f := found{owner: owner, id: t.arn}
	var ds []drift
	if p := aws.ToString(tg.HealthCheckPath); p != s.cfg.HealthCheckPath {
		ds = append(ds, drift{fmt.Sprintf("health check path %s, the config says %s", p, s.cfg.HealthCheckPath),
			fmt.Sprintf("aws elbv2 modify-target-group --target-group-arn %s --health-check-path %s", t.arn, s.cfg.HealthCheckPath)})
	}
	if hc := t.healthCheck(); aws.ToInt32(tg.HealthCheckIntervalSeconds) != *hc.HealthCheckIntervalSeconds ||
		aws.ToInt32(tg.HealthyThresholdCount) != *hc.HealthyThresholdCount || aws.ToInt32(tg.UnhealthyThresholdCount) != *hc.UnhealthyThresholdCount ||
		aws.ToInt32(tg.HealthCheckTimeoutSeconds) != *hc.HealthCheckTimeoutSeconds {
		ds = append(ds, drift{fmt.Sprintf("health check every %d s (timeout %d s), %d to be healthy and %d unhealthy; the config says every %d s (timeout %d s), %d and %d: a new task takes traffic after %d s instead of %d s",
			aws.ToInt32(tg.HealthCheckIntervalSeconds), aws.ToInt32(tg.HealthCheckTimeoutSeconds), aws.ToInt32(tg.HealthyThresholdCount), aws.ToInt32(tg.UnhealthyThresholdCount),
			*hc.HealthCheckIntervalSeconds, *hc.HealthCheckTimeoutSeconds, *hc.HealthyThresholdCount, *hc.UnhealthyThresholdCount,
			*hc.HealthCheckIntervalSeconds**hc.HealthyThresholdCount, aws.ToInt32(tg.HealthCheckIntervalSeconds)*aws.ToInt32(tg.HealthyThresholdCount)),
			fmt.Sprintf("aws elbv2 modify-target-group --target-group-arn %s --health-check-interval-seconds %d --health-check-timeout-seconds %d --healthy-threshold-count %d --unhealthy-threshold-count %d",
				t.arn, *hc.HealthCheckIntervalSeconds, *hc.HealthCheckTimeoutSeconds, *hc.HealthyThresholdCount, *hc.UnhealthyThresholdCount)})
	}
	attrs, err := s.c.ELB.DescribeTargetGroupAttributes(ctx, &elb.DescribeTargetGroupAttributesInput{TargetGroupArn: aws.String(t.arn)})
	if err != nil {
		return found{}, fmt.Errorf("describe target group attributes: %w", err)
	}
	delay := strconv.Itoa(s.cfg.DeregistrationDelay)
	for _, a := range attrs.Attributes {
		if aws.ToString(a.Key) == "deregistration_delay.timeout_seconds" && aws.ToString(a.Value) != delay {
			ds = append(ds, drift{fmt.Sprintf("deregistration delay %s s, the config says %s s: every deploy waits it before an old task stops", aws.ToString(a.Value), delay),
				fmt.Sprintf("aws elbv2 modify-target-group-attributes --target-group-arn %s --attributes Key=deregistration_delay.timeout_seconds,Value=%s", t.arn, delay)})
		}
	}
	t.repair = s.sortDrift(&f, "load-balancer", ds) && len(ds) > 0
	return f, nil
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
		Name: aws.String(s.name("tg")), Protocol: elbtypes.ProtocolEnumHttp, Port: aws.Int32(s.cfg.ContainerPort),
		VpcId: aws.String(s.get().VPCID), TargetType: elbtypes.TargetTypeEnumIp,
		HealthCheckPath: aws.String(s.cfg.HealthCheckPath), HealthCheckIntervalSeconds: aws.Int32(int32(s.cfg.HealthCheckInterval)),
		HealthCheckTimeoutSeconds: aws.Int32(3), HealthyThresholdCount: aws.Int32(2), UnhealthyThresholdCount: aws.Int32(2),
		Matcher: &elbtypes.Matcher{HttpCode: aws.String("200-399")}, Tags: s.lbTags(),
	})
	if err != nil {
		return "", fmt.Errorf("create target group: %w", err)
	}
	t.arn = aws.ToString(out.TargetGroups[0].TargetGroupArn)
	s.set(func(o *Outputs) { o.TargetGroupARN = t.arn })
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

// loadBalancer is the Application Load Balancer in the public subnets and
// its listeners: HTTP forwarding to the target group, or, with a
// certificate, HTTPS forwarding and HTTP redirecting to it.
type loadBalancer struct {
	s         *Stack
	arn       string
	listeners map[int32]string // port -> listener ARN
	tagDomain bool             // the domain tag is to be set
}

func (l *loadBalancer) describe() (string, string) { return "load balancer", l.s.name("alb") }
func (l *loadBalancer) stage() int                 { return 3 }

func (l *loadBalancer) find(ctx context.Context) (found, error) {
	s := l.s
	out, err := s.c.ELB.DescribeLoadBalancers(ctx, &elb.DescribeLoadBalancersInput{Names: []string{s.name("alb")}})
	var nf *elbtypes.LoadBalancerNotFoundException
	if errors.As(err, &nf) {
		return found{}, nil
	}
	if err != nil {
		return found{}, fmt.Errorf("describe load balancers: %w", err)
	}
	if len(out.LoadBalancers) == 0 {
		return found{}, nil
	}
	lb := out.LoadBalancers[0]
	l.arn = aws.ToString(lb.LoadBalancerArn)
	s.set(func(o *Outputs) { o.LoadBalancerARN, o.LoadBalancerDNS = l.arn, aws.ToString(lb.DNSName) })
	owner, err := s.lbOwner(ctx, l.arn)
	if err != nil {
		return found{}, err
	}
	f := found{owner: owner, id: l.arn}
	if err := l.readListeners(ctx); err != nil {
		return found{}, err
	}
	var ds []drift
	for _, p := range l.ports() {
		if l.listeners[p] == "" {
			ds = append(ds, drift{fmt.Sprintf("no listener on port %d", p), ""})
		}
	}
	if d := s.cfg.Domain; d != "" {
		tags, err := s.c.ELB.DescribeTags(ctx, &elb.DescribeTagsInput{ResourceArns: []string{l.arn}})
		if err != nil {
			return found{}, fmt.Errorf("describe the load balancer's tags: %w", err)
		}
		have := ""
		for _, td := range tags.TagDescriptions {
			for _, t := range td.Tags {
				if aws.ToString(t.Key) == ecsdeploy.DomainTag {
					have = aws.ToString(t.Value)
				}
			}
		}
		if have != d {
			ds = append(ds, drift{fmt.Sprintf("domain tag %q, the config says %q (the action's url and smoke check read it)", have, d),
				fmt.Sprintf("aws elbv2 add-tags --resource-arns %s --tags Key=%s,Value=%s", l.arn, ecsdeploy.DomainTag, d)})
			// Set on ours (or one handed over) only: an adopted one gets the advice.
			l.tagDomain = true
		}
	}
	if !s.sortDrift(&f, "load-balancer", ds) {
		l.tagDomain = false
	}
	return f, nil
}

// domainTags are the load balancer's tags beside the stack's: the domain.
func (l *loadBalancer) domainTags() []elbtypes.Tag {
	if d := l.s.cfg.Domain; d != "" {
		return []elbtypes.Tag{{Key: aws.String(ecsdeploy.DomainTag), Value: aws.String(d)}}
	}
	return nil
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
		IpAddressType: elbtypes.IpAddressTypeIpv4, Tags: append(s.lbTags(), l.domainTags()...),
	})
	if err != nil {
		return "", fmt.Errorf("create load balancer: %w", err)
	}
	lb := out.LoadBalancers[0]
	l.arn = aws.ToString(lb.LoadBalancerArn)
	s.set(func(o *Outputs) { o.LoadBalancerARN, o.LoadBalancerDNS = l.arn, aws.ToString(lb.DNSName) })
	l.listeners = map[int32]string{}
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
		in := &elb.CreateListenerInput{LoadBalancerArn: aws.String(l.arn), Port: aws.Int32(p), Protocol: elbtypes.ProtocolEnumHttp, DefaultActions: forward, Tags: s.lbTags()}
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

// lbIngress opens the container port on the tasks' group to the load
// balancer's group alone: the seed's hardening, on a group the bootstrap
// owns (or was handed); on an adopted one it is advice.
type lbIngress struct {
	s     *Stack
	group string
}

func (g *lbIngress) describe() (string, string) {
	return "ingress from the load balancer", fmt.Sprintf("tcp %d from %s", g.s.cfg.ContainerPort, g.s.name("alb-sg"))
}
func (g *lbIngress) stage() int { return 3 }

func (g *lbIngress) permission() []ec2types.IpPermission {
	port := g.s.cfg.ContainerPort
	return []ec2types.IpPermission{{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(port), ToPort: aws.Int32(port),
		UserIdGroupPairs: []ec2types.UserIdGroupPair{{GroupId: aws.String(g.s.get().LoadBalancerSecurityGroupID), Description: aws.String("the load balancer")}}}}
}

func (g *lbIngress) find(ctx context.Context) (found, error) {
	s := g.s
	o := s.get()
	g.group = o.SecurityGroupID
	if g.group == "" || o.LoadBalancerSecurityGroupID == "" {
		return found{}, nil
	}
	out, err := s.c.EC2.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{GroupIds: []string{g.group}})
	if err != nil || len(out.SecurityGroups) == 0 {
		return found{}, fmt.Errorf("describe security group %s: %w", g.group, err)
	}
	sg := out.SecurityGroups[0]
	owner := s.ec2Owner(sg.Tags)
	id := g.group + " from " + o.LoadBalancerSecurityGroupID
	for _, p := range sg.IpPermissions {
		if aws.ToInt32(p.FromPort) == s.cfg.ContainerPort && slices.ContainsFunc(p.UserIdGroupPairs, func(u ec2types.UserIdGroupPair) bool {
			return aws.ToString(u.GroupId) == o.LoadBalancerSecurityGroupID
		}) {
			return found{owner: owner, id: id}, nil
		}
	}
	if owner == OwnerAdopted && !slices.Contains(s.cfg.Manage, "security-group") {
		return found{skip: "the tasks' group is adopted", advice: []string{fmt.Sprintf("let the load balancer reach the tasks: aws ec2 authorize-security-group-ingress --group-id %s --protocol tcp --port %d --source-group %s, or hand the group over with manage: [security-group]",
			g.group, s.cfg.ContainerPort, o.LoadBalancerSecurityGroupID)}}, nil
	}
	return found{}, nil
}

func (g *lbIngress) create(ctx context.Context) (string, error) {
	_, err := g.s.c.EC2.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: aws.String(g.group), IpPermissions: g.permission()})
	return g.group + " from " + g.s.get().LoadBalancerSecurityGroupID, wrap("open the container port to the load balancer", err)
}

func (g *lbIngress) change(context.Context) error { return nil }

func (g *lbIngress) destroy(ctx context.Context) error {
	_, err := g.s.c.EC2.RevokeSecurityGroupIngress(ctx, &ec2.RevokeSecurityGroupIngressInput{GroupId: aws.String(g.group), IpPermissions: g.permission()})
	return wrap("close the container port to the load balancer", err)
}

// alarmNames are the alarms the bootstrap makes on the target group.
func (s *Stack) alarmNames() []string {
	if !s.behindLoadBalancer() {
		return nil
	}
	return []string{s.name("target-5xx"), s.name("unhealthy-hosts")}
}

// lbAlarms are CloudWatch alarms on the target group: the tasks' 5xx
// answers and unhealthy tasks. They are the service's deployment alarms,
// with rollback.
type lbAlarms struct{ s *Stack }

func (a *lbAlarms) describe() (string, string) { return "alarms", strings.Join(a.s.alarmNames(), ", ") }
func (a *lbAlarms) stage() int                 { return 4 }

func (a *lbAlarms) find(ctx context.Context) (found, error) {
	s := a.s
	names := s.alarmNames()
	out, err := s.c.CloudWatch.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{AlarmNames: names})
	if err != nil {
		return found{}, fmt.Errorf("describe alarms: %w", err)
	}
	if len(out.MetricAlarms) < len(names) {
		return found{}, nil
	}
	tags, err := s.c.CloudWatch.ListTagsForResource(ctx, &cloudwatch.ListTagsForResourceInput{ResourceARN: out.MetricAlarms[0].AlarmArn})
	if err != nil {
		return found{}, fmt.Errorf("list tags of alarm %s: %w", names[0], err)
	}
	m := map[string]string{}
	for _, t := range tags.Tags {
		m[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	s.set(func(o *Outputs) { o.AlarmNames = names })
	return found{owner: s.owner(m), id: strings.Join(names, ", ")}, nil
}

// dimension is the part of an ELBv2 ARN CloudWatch names it by.
func dimension(arn, after string) string {
	if i := strings.Index(arn, after); i >= 0 {
		return arn[i+len(after):]
	}
	return arn
}

func (a *lbAlarms) create(ctx context.Context) (string, error) {
	s := a.s
	o := s.get()
	var tags []cwtypes.Tag
	for k, v := range s.tagMap() {
		tags = append(tags, cwtypes.Tag{Key: aws.String(k), Value: aws.String(v)})
	}
	dims := []cwtypes.Dimension{
		{Name: aws.String("TargetGroup"), Value: aws.String("targetgroup/" + dimension(o.TargetGroupARN, ":targetgroup/"))},
		{Name: aws.String("LoadBalancer"), Value: aws.String(dimension(o.LoadBalancerARN, ":loadbalancer/"))},
	}
	names := s.alarmNames()
	for i, in := range []*cloudwatch.PutMetricAlarmInput{
		{MetricName: aws.String("HTTPCode_Target_5XX_Count"), Statistic: cwtypes.StatisticSum, Threshold: aws.Float64(float64(s.cfg.Alarm5xxPerMinute)),
			TreatMissingData: aws.String("notBreaching"), AlarmDescription: aws.String("The API answered 5xx: a deploy in progress rolls back.")},
		{MetricName: aws.String("UnHealthyHostCount"), Statistic: cwtypes.StatisticMaximum, Threshold: aws.Float64(float64(s.cfg.AlarmUnhealthyHosts)),
			TreatMissingData: aws.String("notBreaching"), AlarmDescription: aws.String("Tasks fail the target group's health check: a deploy in progress rolls back.")},
	} {
		in.AlarmName, in.Namespace, in.Dimensions, in.Tags = aws.String(names[i]), aws.String("AWS/ApplicationELB"), dims, tags
		in.Period, in.EvaluationPeriods, in.ComparisonOperator = aws.Int32(60), aws.Int32(1), cwtypes.ComparisonOperatorGreaterThanOrEqualToThreshold
		if _, err := s.c.CloudWatch.PutMetricAlarm(ctx, in); err != nil {
			return "", fmt.Errorf("create alarm %s: %w", names[i], err)
		}
	}
	s.set(func(o *Outputs) { o.AlarmNames = names })
	return strings.Join(names, ", "), nil
}

func (a *lbAlarms) change(context.Context) error { return nil }

func (a *lbAlarms) destroy(ctx context.Context) error {
	_, err := a.s.c.CloudWatch.DeleteAlarms(ctx, &cloudwatch.DeleteAlarmsInput{AlarmNames: a.s.alarmNames()})
	return wrap("delete alarms", err)
}
