package bootstrap

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestBootstrapRoleCoversEveryCall reads every AWS call in the package's
// code (each passes an SDK input, or makes a paginator) and checks that the
// bootstrap role may make it; and that the role is allowed nothing the
// code never does.
func TestBootstrapRoleCoversEveryCall(t *testing.T) {
	t.Parallel()
	prefix := map[string]string{"ec2": "ec2", "iam": "iam", "ecs": "ecs", "ecr": "ecr", "secretsmanager": "secretsmanager", "cloudwatchlogs": "logs", "sts": "sts", "cloudwatch": "cloudwatch", "elb": "elasticloadbalancing"}
	call := regexp.MustCompile(`[&*](ec2|iam|ecs|ecr|secretsmanager|cloudwatchlogs|cloudwatch|elb|sts)\.([A-Z][A-Za-z]+)Input\b|\b(ec2|iam|ecs|ecr|secretsmanager|cloudwatchlogs|cloudwatch|elb|sts)\.New([A-Z][A-Za-z]+)Paginator\(`)
	files, _ := filepath.Glob("*.go")
	var called []string
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range call.FindAllStringSubmatch(string(src), -1) {
			pkg, op := m[1]+m[3], m[2]+m[4]
			if a := prefix[pkg] + ":" + op; !slices.Contains(called, a) {
				called = append(called, a)
			}
		}
	}
	// (An input is taken by address or by pointer type.) Calls that need more than their own action: tags given at creation,
	// the roles a task definition names, ECS's service-linked role.
	implied := []string{"ec2:CreateTags", "iam:TagRole", "iam:TagOpenIDConnectProvider", "secretsmanager:TagResource", "ecr:TagResource",
		"logs:TagResource", "ecs:TagResource", "iam:PassRole", "iam:CreateServiceLinkedRole",
		"elasticloadbalancing:AddTags", "cloudwatch:TagResource"}
	var granted []string
	for _, actions := range bootstrapActions {
		granted = append(granted, actions...)
	}
	if len(called) < 40 {
		t.Fatalf("found %d calls in the code: the pattern no longer matches it", len(called))
	}
	for _, a := range called {
		if !slices.Contains(granted, a) {
			t.Errorf("the bootstrap calls %s, which the bootstrap role may not", a)
		}
	}
	for _, a := range granted {
		if !slices.Contains(called, a) && !slices.Contains(implied, a) {
			t.Errorf("the bootstrap role may %s, which the bootstrap never does", a)
		}
	}
}
