package awsjudge

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/autonote/deploy-action/internal/testbed/iamsim"
)

// moto reads what a request names, with admin credentials, straight from
// moto (never through a judge): the principal's policies, resources' tags,
// the ARN a name stands for.
type moto struct {
	cfg aws.Config
	iam *iam.Client
}

func newMoto(motoURL string) *moto {
	cfg := aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(motoURL), RetryMaxAttempts: 3,
		Credentials: credentials.NewStaticCredentialsProvider("AKIDTESTBEDJUDGE", "testing", "")}
	return &moto{cfg: cfg, iam: iam.NewFromConfig(cfg)}
}

func (m *moto) in(region string) aws.Config {
	c := m.cfg.Copy()
	if region != "" {
		c.Region = region
	}
	return c
}

// policySet is what IAM evaluates a role's request against.
type policySet struct {
	identity, boundary []iamsim.Policy
	readsTags          bool // some policy has a condition on a resource's tags
}

func (s *policySet) names(ps []iamsim.Policy) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.Name)
	}
	return out
}

// policiesOf reads a role's policies, cached until the next IAM write.
func (j *Judge) policiesOf(ctx context.Context, roleARN string) (*policySet, error) {
	j.mu.Lock()
	if s, ok := j.policies[roleARN]; ok {
		j.mu.Unlock()
		return s, nil
	}
	gen := j.gen
	j.mu.Unlock()
	s, err := j.moto.policies(ctx, lastPart(roleARN))
	if err != nil {
		return nil, err
	}
	j.mu.Lock()
	if j.gen == gen {
		j.policies[roleARN] = s
	}
	j.mu.Unlock()
	return s, nil
}

func (m *moto) role(ctx context.Context, name string) (*iamtypes.Role, error) {
	out, err := m.iam.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(name)})
	if err != nil {
		return nil, fmt.Errorf("get role %s: %w", name, err)
	}
	return out.Role, nil
}

// policies reads a role's inline and attached policies and its boundary.
func (m *moto) policies(ctx context.Context, name string) (*policySet, error) {
	r, err := m.role(ctx, name)
	if err != nil {
		return nil, err
	}
	set := &policySet{}
	inline, err := m.iam.ListRolePolicies(ctx, &iam.ListRolePoliciesInput{RoleName: aws.String(name)})
	if err != nil {
		return nil, fmt.Errorf("list the policies of %s: %w", name, err)
	}
	for _, p := range inline.PolicyNames {
		got, err := m.iam.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: aws.String(name), PolicyName: aws.String(p)})
		if err != nil {
			return nil, fmt.Errorf("get policy %s of %s: %w", p, name, err)
		}
		set.identity = append(set.identity, iamsim.Policy{Name: name + "/" + p, Document: document(aws.ToString(got.PolicyDocument))})
	}
	attached, err := m.iam.ListAttachedRolePolicies(ctx, &iam.ListAttachedRolePoliciesInput{RoleName: aws.String(name)})
	if err != nil {
		return nil, fmt.Errorf("list the attached policies of %s: %w", name, err)
	}
	for _, p := range attached.AttachedPolicies {
		doc, err := m.managed(ctx, aws.ToString(p.PolicyArn))
		if err != nil {
			return nil, err
		}
		set.identity = append(set.identity, iamsim.Policy{Name: aws.ToString(p.PolicyName), Document: doc})
	}
	if r.PermissionsBoundary != nil {
		arn := aws.ToString(r.PermissionsBoundary.PermissionsBoundaryArn)
		doc, err := m.managed(ctx, arn)
		if err != nil {
			return nil, err
		}
		set.boundary = []iamsim.Policy{{Name: lastPart(arn), Document: doc}}
	}
	for _, p := range append(append([]iamsim.Policy{}, set.identity...), set.boundary...) {
		set.readsTags = set.readsTags || strings.Contains(string(p.Document), "ResourceTag")
	}
	return set, nil
}

// managed reads a managed policy's default version.
func (m *moto) managed(ctx context.Context, arn string) (json.RawMessage, error) {
	p, err := m.iam.GetPolicy(ctx, &iam.GetPolicyInput{PolicyArn: aws.String(arn)})
	if err != nil {
		return nil, fmt.Errorf("get policy %s: %w", arn, err)
	}
	v, err := m.iam.GetPolicyVersion(ctx, &iam.GetPolicyVersionInput{PolicyArn: aws.String(arn), VersionId: p.Policy.DefaultVersionId})
	if err != nil {
		return nil, fmt.Errorf("get the version of %s: %w", arn, err)
	}
	return document(aws.ToString(v.PolicyVersion.Document)), nil
}

// document undoes the URL encoding IAM returns documents in.
func document(doc string) json.RawMessage {
	if d, err := url.QueryUnescape(doc); err == nil && strings.HasPrefix(strings.TrimSpace(d), "{") {
		doc = d
	}
	return json.RawMessage(doc)
}

// SecretARN implements authz.Resolver.
func (m *moto) SecretARN(ctx context.Context, region, id string) (string, error) {
	out, err := secretsmanager.NewFromConfig(m.in(region)).DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(id)})
	if err != nil {
		// AWS judges a secret that does not exist by the ARN it names.
		if strings.HasPrefix(id, "arn:") {
			return id, nil
		}
		return fmt.Sprintf("arn:aws:secretsmanager:%s:%s:secret:%s-AbCdEf", region, Account, id), nil
	}
	return aws.ToString(out.ARN), nil
}

// RoleBoundary implements authz.Resolver.
func (m *moto) RoleBoundary(ctx context.Context, name string) (string, error) {
	r, err := m.role(ctx, name)
	if err != nil || r.PermissionsBoundary == nil {
		return "", nil // a role that does not exist has none
	}
	return aws.ToString(r.PermissionsBoundary.PermissionsBoundaryArn), nil
}

// TaskDefinition implements authz.Resolver.
func (m *moto) TaskDefinition(ctx context.Context, region, ref string) (string, string, string, error) {
	out, err := ecs.NewFromConfig(m.in(region)).DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(ref)})
	if err != nil {
		return fmt.Sprintf("arn:aws:ecs:%s:%s:task-definition/%s", region, Account, lastPart(ref)), "", "", nil
	}
	td := out.TaskDefinition
	return aws.ToString(td.TaskDefinitionArn), aws.ToString(td.ExecutionRoleArn), aws.ToString(td.TaskRoleArn), nil
}

// NextRevision implements authz.Resolver.
func (m *moto) NextRevision(ctx context.Context, region, family string) (int, error) {
	out, err := ecs.NewFromConfig(m.in(region)).ListTaskDefinitions(ctx, &ecs.ListTaskDefinitionsInput{FamilyPrefix: aws.String(family), Sort: "DESC", MaxResults: aws.Int32(1)})
	if err != nil || len(out.TaskDefinitionArns) == 0 {
		return 1, nil
	}
	last := out.TaskDefinitionArns[0]
	n, _ := strconv.Atoi(last[strings.LastIndex(last, ":")+1:])
	return n + 1, nil
}

// RouteTableOfAssociation implements authz.Resolver.
func (m *moto) RouteTableOfAssociation(ctx context.Context, region, assoc string) (string, string, error) {
	out, err := ec2.NewFromConfig(m.in(region)).DescribeRouteTables(ctx, &ec2.DescribeRouteTablesInput{
		Filters: []ec2types.Filter{{Name: aws.String("association.route-table-association-id"), Values: []string{assoc}}}})
	if err != nil || len(out.RouteTables) == 0 {
		return "", "", fmt.Errorf("find the route table of association %s: %v", assoc, err)
	}
	rt := out.RouteTables[0]
	for _, a := range rt.Associations {
		if aws.ToString(a.RouteTableAssociationId) == assoc {
			return aws.ToString(rt.RouteTableId), aws.ToString(a.SubnetId), nil
		}
	}
	return aws.ToString(rt.RouteTableId), "", nil
}

// tags are a resource's tags by its ARN (none when it cannot be read).
func (m *moto) tags(ctx context.Context, arn string) map[string]string {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) < 6 {
		return nil
	}
	service, region, resource := parts[2], parts[3], parts[5]
	cfg := m.in(region)
	out := map[string]string{}
	switch service {
	case "ec2":
		got, err := ec2.NewFromConfig(cfg).DescribeTags(ctx, &ec2.DescribeTagsInput{Filters: []ec2types.Filter{{Name: aws.String("resource-id"), Values: []string{lastPart(resource)}}}})
		if err == nil {
			for _, t := range got.Tags {
				out[aws.ToString(t.Key)] = aws.ToString(t.Value)
			}
		}
	case "iam":
		if name, ok := strings.CutPrefix(resource, "role/"); ok {
			got, err := m.iam.ListRoleTags(ctx, &iam.ListRoleTagsInput{RoleName: aws.String(lastPart(name))})
			if err == nil {
				for _, t := range got.Tags {
					out[aws.ToString(t.Key)] = aws.ToString(t.Value)
				}
			}
		}
	case "ecs":
		got, err := ecs.NewFromConfig(cfg).ListTagsForResource(ctx, &ecs.ListTagsForResourceInput{ResourceArn: aws.String(arn)})
		if err == nil {
			for _, t := range got.Tags {
				out[aws.ToString(t.Key)] = aws.ToString(t.Value)
			}
		}
	case "elasticloadbalancing":
		got, err := elb.NewFromConfig(cfg).DescribeTags(ctx, &elb.DescribeTagsInput{ResourceArns: []string{arn}})
		if err == nil {
			for _, d := range got.TagDescriptions {
				for _, t := range d.Tags {
					out[aws.ToString(t.Key)] = aws.ToString(t.Value)
				}
			}
		}
	case "secretsmanager":
		got, err := secretsmanager.NewFromConfig(cfg).DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(arn)})
		if err == nil {
			for _, t := range got.Tags {
				out[aws.ToString(t.Key)] = aws.ToString(t.Value)
			}
		}
	case "logs":
		got, err := cloudwatchlogs.NewFromConfig(cfg).ListTagsForResource(ctx, &cloudwatchlogs.ListTagsForResourceInput{ResourceArn: aws.String(strings.TrimSuffix(arn, ":*"))})
		if err == nil {
			for k, v := range got.Tags {
				out[k] = v
			}
		}
	case "ecr":
		got, err := ecr.NewFromConfig(cfg).ListTagsForResource(ctx, &ecr.ListTagsForResourceInput{ResourceArn: aws.String(arn)})
		if err == nil {
			for _, t := range got.Tags {
				out[aws.ToString(t.Key)] = aws.ToString(t.Value)
			}
		}
	case "cloudwatch":
		got, err := cloudwatch.NewFromConfig(cfg).ListTagsForResource(ctx, &cloudwatch.ListTagsForResourceInput{ResourceARN: aws.String(arn)})
		if err == nil {
			for _, t := range got.Tags {
				out[aws.ToString(t.Key)] = aws.ToString(t.Value)
			}
		}
	}
	return out
}
