package authz_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/autonote/deploy-action/internal/testbed/authz"
	"github.com/autonote/deploy-action/internal/testbed/iamsim"
)

var evaluator iamsim.Lazy

const acct = "123456789012"

// resolver answers as moto would for the sample requests.
type resolver struct{}

func (resolver) SecretARN(_ context.Context, region, id string) (string, error) {
	return "arn:aws:secretsmanager:" + region + ":" + acct + ":secret:" + id + "-AbCdEf", nil
}
func (resolver) RoleBoundary(context.Context, string) (string, error) {
	return "arn:aws:iam::" + acct + ":policy/autonote-boundary", nil
}
func (resolver) TaskDefinition(_ context.Context, region, ref string) (string, string, string, error) {
	return "arn:aws:ecs:" + region + ":" + acct + ":task-definition/" + ref, "arn:aws:iam::" + acct + ":role/exec", "arn:aws:iam::" + acct + ":role/task", nil
}
func (resolver) NextRevision(context.Context, string, string) (int, error) { return 4, nil }
func (resolver) RouteTableOfAssociation(context.Context, string, string) (string, string, error) {
	return "rtb-1", "subnet-1", nil
}

// sample is a request of every operation: each entry of the table reads
// the members it names.
func sample(service string) map[string]any {
	arn := func(svc, res string) string { return "arn:aws:" + svc + ":us-east-1:" + acct + ":" + res }
	tags := []any{map[string]any{"Key": "managed-by", "Value": "deploy-action"}}
	p := map[string]any{
		"cluster": "c", "service": "s", "serviceName": "s", "services": []any{"s"}, "clusters": []any{"c"}, "clusterName": "c",
		"serviceDeploymentArn":  arn("ecs", "service-deployment/c/s/abc"),
		"serviceDeploymentArns": []any{arn("ecs", "service-deployment/c/s/abc")},
		"serviceRevisionArns":   []any{arn("ecs", "service-revision/c/s/123")},
		"family":                "f", "taskDefinition": "f:1", "task": "t1", "tasks": []any{"t1"},
		"executionRoleArn": "arn:aws:iam::" + acct + ":role/exec", "taskRoleArn": "arn:aws:iam::" + acct + ":role/task",
		"loadBalancers":  []any{map[string]any{"advancedConfiguration": map[string]any{"roleArn": "arn:aws:iam::" + acct + ":role/infra"}}},
		"tags":           []any{map[string]any{"key": "managed-by", "value": "deploy-action"}},
		"repositoryName": "autonote/server", "repositoryNames": []any{"autonote/server"},
		"RoleName": "r", "PolicyArn": "arn:aws:iam::" + acct + ":policy/p", "PermissionsBoundary": "arn:aws:iam::" + acct + ":policy/b",
		"PolicyName": "p", "Url": "https://token.actions.githubusercontent.com", "AWSServiceName": "ecs.amazonaws.com",
		"OpenIDConnectProviderArn": "arn:aws:iam::" + acct + ":oidc-provider/token.actions.githubusercontent.com",
		"RoleArn":                  "arn:aws:iam::" + acct + ":role/r", "Tags": tags,
		"Name": "n", "SecretId": "autonote/app",
		"logGroupName": "/ecs/x", "logStreamName": "ecs/server/abc",
		"AlarmNames": []any{"a"}, "AlarmName": "a", "ResourceARN": arn("cloudwatch", "alarm:a"),
		"LoadBalancerArn": arn("elasticloadbalancing", "loadbalancer/app/lb/1"), "ListenerArn": arn("elasticloadbalancing", "listener/app/lb/1/2"),
		"RuleArn": arn("elasticloadbalancing", "listener-rule/app/lb/1/2/3"), "TargetGroupArn": arn("elasticloadbalancing", "targetgroup/tg/1"),
		"ResourceArns":   []any{arn("elasticloadbalancing", "loadbalancer/app/lb/1")},
		"RulePriorities": []any{map[string]any{"RuleArn": arn("elasticloadbalancing", "listener-rule/app/lb/1/2/3")}},
		"VpcId":          "vpc-1", "InternetGatewayId": "igw-1", "RouteTableId": "rtb-1", "SubnetId": "subnet-1", "GroupId": "sg-1",
		"AssociationId": "rtbassoc-1", "Resources": []any{"vpc-1"}, "TableName": "t", "CertificateArn": arn("acm", "certificate/1"),
		"TagSpecifications": []any{map[string]any{"ResourceType": "vpc", "Tags": tags}, map[string]any{"ResourceType": "subnet", "Tags": tags},
			map[string]any{"ResourceType": "security-group", "Tags": tags}, map[string]any{"ResourceType": "route-table", "Tags": tags},
			map[string]any{"ResourceType": "internet-gateway", "Tags": tags}},
	}
	switch service {
	case "ecs":
		p["resourceArn"] = arn("ecs", "service/c/s")
	case "ecr":
		p["resourceArn"] = arn("ecr", "repository/autonote/server")
		p["tags"] = tags
	case "logs":
		p["resourceArn"] = arn("logs", "log-group:/ecs/x")
		p["tags"] = map[string]any{"managed-by": "deploy-action"}
	}
	return p
}

// sar is the Service Authorization Reference's entry for an action, from
// the evaluator's own data.
type sar struct {
	ResourceTypes []struct {
		Name     string `json:"name"`
		Required bool   `json:"required"`
	} `json:"resourceTypes"`
	ConditionKeys []string `json:"conditionKeys"`
}

func reference(t *testing.T, action string) (sar, map[string]*regexp.Regexp) {
	t.Helper()
	if _, err := evaluator.Get(); err != nil { // installs its data
		t.Fatal(err)
	}
	data := filepath.Join(iamsim.Dir(), "node_modules", "@cloud-copilot", "iam-data", "data")
	svc, name, _ := strings.Cut(action, ":")
	var actions map[string]sar
	var types map[string]struct {
		ARN string `json:"arn"`
	}
	for file, v := range map[string]any{"actions": &actions, "resourceTypes": &types} {
		b, err := os.ReadFile(filepath.Join(data, file, svc+".json"))
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, v); err != nil {
			t.Fatal(err)
		}
	}
	a, ok := actions[strings.ToLower(name)]
	if !ok {
		t.Fatalf("%s is not an action of the Service Authorization Reference", action)
	}
	patterns := map[string]*regexp.Regexp{}
	vars := regexp.MustCompile(`\\\$\\\{[A-Za-z]+\\\}`)
	for _, rt := range a.ResourceTypes {
		p := vars.ReplaceAllString(regexp.QuoteMeta(types[strings.ToLower(rt.Name)].ARN), `.+`)
		patterns[rt.Name] = regexp.MustCompile("^" + p + "$")
	}
	return a, patterns
}

// TestTableMatchesTheReference builds the checks of a request of every
// operation the table maps and holds each to AWS's Service Authorization
// Reference: the evaluator takes the action and resource (no "Error"),
// ignores none of the condition keys given, and every resource type the
// Reference marks required is checked.
func TestTableMatchesTheReference(t *testing.T) {
	t.Parallel()
	e, err := evaluator.Get()
	if err != nil {
		t.Fatal(err)
	}
	allowAll := json.RawMessage(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`)
	for _, op := range authz.Operations() {
		t.Run(op, func(t *testing.T) {
			t.Parallel()
			service, name, _ := strings.Cut(op, ":")
			checks, err := authz.Checks(context.Background(), authz.Request{Service: service, Operation: name, Params: sample(service), Region: "us-east-1", Account: acct}, resolver{})
			if err != nil {
				t.Fatal(err)
			}
			if len(checks) == 0 && op != "sts:GetCallerIdentity" {
				t.Fatal("no check")
			}
			covered := map[string][]string{}
			for _, c := range checks {
				d, err := e.Evaluate(context.Background(), iamsim.Simulation{Principal: "arn:aws:sts::" + acct + ":assumed-role/r/s", Action: c.Action,
					Resource: c.Resource, Account: acct, Context: c.Context, Identity: []iamsim.Policy{{Name: "all", Document: allowAll}}})
				if err != nil {
					t.Fatal(err)
				}
				if d.Result == "Error" {
					// The evaluator's ELB data lacks the v2 resource types
					// of AddTags (its Classic entry won): judged as unjudgeable.
					if c.Action == "elasticloadbalancing:AddTags" && !strings.Contains(c.Resource, ":loadbalancer/") {
						continue
					}
					t.Errorf("%s on %s: %s", c.Action, c.Resource, d.Error)
				}
				if len(d.Ignored) > 0 {
					t.Errorf("%s on %s: condition keys %v are none of the action's", c.Action, c.Resource, d.Ignored)
				}
				ref, patterns := reference(t, c.Action)
				for rt, re := range patterns {
					if re.MatchString(c.Resource) {
						covered[c.Action] = append(covered[c.Action], rt)
					}
				}
				if c.Resource != "*" && len(ref.ResourceTypes) > 0 && len(covered[c.Action]) == 0 && c.Action != "elasticloadbalancing:AddTags" {
					t.Errorf("%s on %s: the resource is none of the action's types", c.Action, c.Resource)
				}
			}
			for action, types := range covered {
				ref, _ := reference(t, action)
				for _, rt := range ref.ResourceTypes {
					if rt.Required && !slices.Contains(types, rt.Name) && len(ref.ResourceTypes) > 1 && requiredTogether(action) {
						t.Errorf("%s: the Reference requires its %s resource too", action, rt.Name)
					}
				}
			}
		})
	}
}

// requiredTogether are actions AWS authorizes on each of several resources
// (the Reference marks them all required); for the others, "required"
// marks alternatives of which a request names one.
func requiredTogether(action string) bool {
	return slices.Contains([]string{"ecs:DescribeServiceDeployments", "ecs:ContinueServiceDeployment", "ecs:StopServiceDeployment", "ecs:DescribeServiceRevisions",
		"ec2:AttachInternetGateway", "ec2:DetachInternetGateway", "ec2:CreateSubnet", "ec2:CreateRouteTable"}, action)
}

// TestEveryCallIsMapped reads every AWS call in the product's code (an SDK
// input by address or pointer type, or a paginator) and checks the table
// maps it: a new call is judged from its first test.
func TestEveryCallIsMapped(t *testing.T) {
	t.Parallel()
	services := map[string]string{"ec2": "ec2", "iam": "iam", "ecs": "ecs", "ecr": "ecr", "secretsmanager": "secretsmanager", "cloudwatchlogs": "logs",
		"cloudwatch": "cloudwatch", "elb": "elbv2", "sts": "sts", "dynamodb": "dynamodb", "acm": "acm"}
	call := regexp.MustCompile(`[&*](ec2|iam|ecs|ecr|secretsmanager|cloudwatchlogs|cloudwatch|elb|sts|dynamodb|acm)\.([A-Z][A-Za-z]+)Input\b|\b(ec2|iam|ecs|ecr|secretsmanager|cloudwatchlogs|cloudwatch|elb|sts|dynamodb|acm)\.New([A-Z][A-Za-z]+)Paginator\(`)
	root := filepath.Join("..", "..", "..")
	var files []string
	for _, dir := range []string{"internal", "cmd"} {
		_ = filepath.WalkDir(filepath.Join(root, dir), func(path string, d os.DirEntry, err error) error {
			if err != nil {
				return err
			}
			// The test bed's own calls (the simulator acting as ECS, the
			// demo's stand-ins) are not the product's.
			if d.IsDir() && slices.Contains([]string{"testbed", "ecssim", "demo"}, d.Name()) {
				return filepath.SkipDir
			}
			if strings.HasSuffix(path, ".go") && !strings.HasSuffix(path, "_test.go") {
				files = append(files, path)
			}
			return nil
		})
	}
	mapped := authz.Operations()
	seen := 0
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range call.FindAllStringSubmatch(string(src), -1) {
			seen++
			op := services[m[1]+m[3]] + ":" + m[2] + m[4]
			if !slices.Contains(mapped, op) && op != "dynamodb:CreateTable" && op != "dynamodb:UpdateTimeToLive" {
				t.Errorf("%s calls %s, which the test bed's IAM table does not map", f, op)
			}
		}
	}
	if seen < 100 {
		t.Fatalf("found %d calls in the code: the pattern no longer matches it", seen)
	}
}
