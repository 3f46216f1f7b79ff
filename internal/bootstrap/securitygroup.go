package bootstrap

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// securityGroup admits the API's port. An adopted service keeps its own
// groups (or the config's security-group-ids); the bootstrap judges them.
type securityGroup struct {
	s     *Stack
	label string
	id    string
	// revoke and authorize are the ingress changes to make on our group.
	revoke, authorize []types.IpPermission
}

func (g *securityGroup) describe() (string, string) {
	return "security group", cmp.Or(g.label, g.s.name("server-sg"))
}
func (g *securityGroup) stage() int { return 2 }

func (g *securityGroup) find(ctx context.Context) (found, error) {
	s := g.s
	groups, err := g.read(ctx)
	if err != nil || len(groups) == 0 {
		return found{}, err
	}
	v := judgeSecurityGroups(groups, groupWant{
		stack: s.cfg.Name, port: s.cfg.ContainerPort, cidrs: s.portCIDRs(), behindLB: s.behindLoadBalancer(),
		managed: slices.Contains(s.cfg.Manage, "security-group"),
	})
	g.id, g.label, g.revoke, g.authorize = aws.ToString(groups[0].GroupId), v.label, v.revoke, v.authorize
	var ids []string
	for _, sg := range groups {
		ids = append(ids, aws.ToString(sg.GroupId))
	}
	s.set(func(o *Outputs) { o.SecurityGroupID, o.SecurityGroupIDs = g.id, ids })
	return v.found, v.err
}

// read finds the service's groups (or the config's security-group-ids),
// else the bootstrap's by name in the VPC: none when there is no VPC yet.
func (g *securityGroup) read(ctx context.Context) ([]types.SecurityGroup, error) {
	s := g.s
	in := &ec2.DescribeSecurityGroupsInput{GroupIds: s.found.securityGroupIDs}
	if len(in.GroupIds) == 0 {
		vpcID := s.get().VPCID
		if vpcID == "" {
			return nil, nil
		}
		in.Filters = []types.Filter{filter("vpc-id", vpcID), filter("group-name", s.name("server-sg"))}
	}
	out, err := s.c.EC2.DescribeSecurityGroups(ctx, in)
	if err != nil {
		return nil, fmt.Errorf("describe security groups: %w", err)
	}
	return out.SecurityGroups, nil
}

// groupWant is what the config asks of the service's group.
type groupWant struct {
	stack    string // the stack's name, in the bootstrap's tags
	port     int32
	cidrs    []string // what the port is open to
	behindLB bool
	managed  bool // handed over: security-group in manage
}

// groupVerdict is what the judge found, and the ingress to revoke and
// authorize on a group of ours (or handed over).
type groupVerdict struct {
	found
	label             string // an adopted group's names
	revoke, authorize []types.IpPermission
	err               error
}

// judgeSecurityGroups compares the service's groups (one of ours, or the
// adopted ones it uses) with the ingress the config asks for.
func judgeSecurityGroups(groups []types.SecurityGroup, want groupWant) groupVerdict {
	var ids, names []string
	for _, sg := range groups {
		ids, names = append(ids, aws.ToString(sg.GroupId)), append(names, aws.ToString(sg.GroupName))
	}
	id := ids[0]
	v := groupVerdict{found: found{owner: ownerOf(ec2Tag.of(groups[0].Tags), want.stack), whose: whoseOf(ec2Tag.of(groups[0].Tags), want.stack), id: strings.Join(ids, ", ")}}
	if len(groups) > 1 {
		v.owner = OwnerAdopted
	}
	if v.owner == OwnerAdopted {
		v.label = strings.Join(names, ", ")
	}
	port := want.port
	have, other := map[string]bool{}, []types.IpPermission{}
	for _, grp := range groups {
		for _, p := range grp.IpPermissions {
			if aws.ToString(p.IpProtocol) == "tcp" && aws.ToInt32(p.FromPort) == port && aws.ToInt32(p.ToPort) == port {
				for _, r := range p.IpRanges {
					have[aws.ToString(r.CidrIp)] = true
				}
				for _, r := range p.Ipv6Ranges {
					have[aws.ToString(r.CidrIpv6)] = true
				}
				if len(p.UserIdGroupPairs) > 0 {
					have["sg"] = true
				}
				continue
			}
			if aws.ToString(p.IpProtocol) == "-1" && len(p.IpRanges) == 0 && len(p.Ipv6Ranges) == 0 && len(p.UserIdGroupPairs) > 0 && v.owner == OwnerAdopted {
				continue // the default group's "from itself"
			}
			other = append(other, p)
		}
	}
	var ds []drift
	var extra, missing []string
	for c := range have {
		if c != "sg" && !slices.Contains(want.cidrs, c) {
			extra = append(extra, c)
		}
	}
	slices.Sort(extra)
	for _, c := range want.cidrs {
		if !have[c] {
			missing = append(missing, c)
		}
	}
	for _, c := range extra {
		ds = append(ds, drift{fmt.Sprintf("ingress tcp %d from %s is not in the config (clients that reach port %d from there lose access when it goes)", port, c, port),
			fmt.Sprintf("aws ec2 revoke-security-group-ingress --group-id %s --protocol tcp --port %d --cidr %s", id, port, c)})
	}
	for _, c := range missing {
		ds = append(ds, drift{fmt.Sprintf("ingress tcp %d from %s is missing", port, c),
			fmt.Sprintf("aws ec2 authorize-security-group-ingress --group-id %s --protocol tcp --port %d --cidr %s", id, port, c)})
	}
	for _, p := range other {
		ds = append(ds, drift{fmt.Sprintf("ingress %s %d-%d is not in the config", aws.ToString(p.IpProtocol), aws.ToInt32(p.FromPort), aws.ToInt32(p.ToPort)), ""})
	}
	if v.owner == OwnerAdopted && (have["0.0.0.0/0"] || have["::/0"]) {
		if want.behindLB {
			v.advice = append(v.advice, fmt.Sprintf("port %d is open to the whole internet: once clients use the load balancer's name, close it (aws ec2 revoke-security-group-ingress --group-id %s --protocol tcp --port %d --cidr 0.0.0.0/0), or hand the group over with manage: [security-group] and apply", port, id, port))
		} else {
			v.advice = append(v.advice, fmt.Sprintf("port %d is open to the whole internet, the seed's development setting: narrow ingress-cidrs and hand the group over with manage: [security-group], or put a load balancer in front (endpoint: load-balancer)", port))
		}
	}
	if sortDrift(&v.found, "security-group", want.managed, ds) {
		if len(groups) > 1 {
			v.err = fmt.Errorf("security groups %s: the bootstrap manages one group; name it alone in security-group-ids", v.id)
			return v
		}
		if len(extra) > 0 {
			v.revoke = append(v.revoke, ingress(port, extra)...)
		}
		v.revoke = append(v.revoke, other...)
		v.authorize = ingress(port, missing)
	}
	return v
}

// portCIDRs are the addresses the container port is open to: the config's
// ingress-cidrs, or, behind a load balancer (whose group has a rule of its
// own), task-ingress-cidrs: none once clients use the load balancer.
func (s *Stack) portCIDRs() []string {
	if s.behindLoadBalancer() {
		return s.cfg.TaskIngressCIDRs
	}
	return s.cfg.IngressCIDRs
}

// ingress is the permission for TCP port from cidrs, IPv4 and IPv6 apart.
func ingress(port int32, cidrs []string) []types.IpPermission {
	if len(cidrs) == 0 {
		return nil
	}
	p := types.IpPermission{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(port), ToPort: aws.Int32(port)}
	for _, c := range cidrs {
		if strings.Contains(c, ":") {
			p.Ipv6Ranges = append(p.Ipv6Ranges, types.Ipv6Range{CidrIpv6: aws.String(c), Description: aws.String("AutoNote API")})
		} else {
			p.IpRanges = append(p.IpRanges, types.IpRange{CidrIp: aws.String(c), Description: aws.String("AutoNote API")})
		}
	}
	return []types.IpPermission{p}
}

func (g *securityGroup) create(ctx context.Context) (string, error) {
	s := g.s
	name := s.name("server-sg")
	out, err := s.c.EC2.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{
		GroupName: aws.String(name), VpcId: aws.String(s.get().VPCID),
		Description:       aws.String(fmt.Sprintf("%s: the API on TCP %d", s.cfg.Name, s.cfg.ContainerPort)),
		TagSpecifications: s.ec2Tags(types.ResourceTypeSecurityGroup, name),
	})
	if err != nil {
		return "", fmt.Errorf("create security group: %w", err)
	}
	g.id = aws.ToString(out.GroupId)
	s.set(func(o *Outputs) { o.SecurityGroupID, o.SecurityGroupIDs = g.id, []string{g.id} })
	g.revoke, g.authorize = nil, ingress(s.cfg.ContainerPort, s.portCIDRs())
	if err := g.change(ctx); err != nil {
		return "", err
	}
	return g.id, nil
}

func (g *securityGroup) change(ctx context.Context) error {
	id := aws.String(g.id)
	if len(g.revoke) > 0 {
		if _, err := g.s.c.EC2.RevokeSecurityGroupIngress(ctx, &ec2.RevokeSecurityGroupIngressInput{GroupId: id, IpPermissions: g.revoke}); err != nil {
			return fmt.Errorf("revoke ingress the config does not have: %w", err)
		}
	}
	if len(g.authorize) > 0 {
		if _, err := g.s.c.EC2.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: id, IpPermissions: g.authorize}); err != nil {
			return fmt.Errorf("authorize ingress %s: %w", strings.Join(g.s.portCIDRs(), ", "), err)
		}
	}
	return nil
}

func (g *securityGroup) destroy(ctx context.Context) error {
	_, err := g.s.c.EC2.DeleteSecurityGroup(ctx, &ec2.DeleteSecurityGroupInput{GroupId: aws.String(g.id)})
	return wrap("delete security group", err)
}
