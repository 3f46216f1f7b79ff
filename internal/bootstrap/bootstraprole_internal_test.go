package bootstrap

import (
	"encoding/json"
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
	called := awsCalls(t, "*.go", call, func(m []string) string { return prefix[m[1]+m[3]] + ":" + m[2] + m[4] })
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
	// A granted action ending in * (ec2:Describe*) covers the calls it names.
	covers := func(g, a string) bool {
		return g == a || strings.HasSuffix(g, "*") && strings.HasPrefix(a, strings.TrimSuffix(g, "*"))
	}
	grants := func(a string) bool { return slices.ContainsFunc(granted, func(g string) bool { return covers(g, a) }) }
	for _, a := range called {
		switch {
		case a == "sts:GetCallerIdentity": // needs no permission
		case slices.Contains(adminOnly, a) && grants(a):
			t.Errorf("the bootstrap role may %s, which is for admin credentials alone", a)
		case !slices.Contains(adminOnly, a) && !grants(a):
			t.Errorf("the bootstrap calls %s, which the bootstrap role may not", a)
		}
	}
	for _, g := range granted {
		if !slices.ContainsFunc(append(called, implied...), func(a string) bool { return covers(g, a) }) {
			t.Errorf("the bootstrap role may %s, which the bootstrap never does", g)
		}
		if strings.HasSuffix(g, "*") && !strings.Contains(g, ":Describe") {
			t.Errorf("the bootstrap role may %s: only read-only Describe calls go by a wildcard", g)
		}
	}
}

// TestBootstrapRoleWritesNoAdoptedRole: a role made by hand (the console's
// ecsTaskExecutionRole) is out of the bootstrap role's writes, since it has
// no boundary to hold what a policy written on it could allow; handed over
// (manage), it is in.
func TestBootstrapRoleWritesNoAdoptedRole(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name       string
		manage     []string
		execOwner  Owner
		wantExecIn bool
	}{
		{"made by the bootstrap", nil, OwnerUs, true},
		{"not made yet", nil, OwnerNone, true},
		{"adopted", nil, OwnerAdopted, false},
		{"adopted, handed over", []string{"execution-role"}, OwnerAdopted, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := Named("pure")
			cfg.Region, cfg.Manage = "us-east-1", tc.manage
			cfg.GitHub = &GitHub{Repository: "autonote/autonote", Branch: "main", Role: "pure-deploy", BootstrapRole: "pure-bootstrap", BootstrapEnvironment: "bootstrap"}
			s, err := New(Clients{}, cfg)
			if err != nil {
				t.Fatal(err)
			}
			s.set(func(o *Outputs) { o.RepositoryARN = "arn:aws:ecr:us-east-1:123456789012:repository/pure/server" })
			if tc.execOwner != OwnerNone {
				s.noteRole(cfg.ExecutionRole, tc.execOwner)
			}
			var doc struct {
				Statement []struct {
					Sid      string
					Resource any
				}
			}
			if err := json.Unmarshal([]byte(s.bootstrapPolicy()), &doc); err != nil {
				t.Fatal(err)
			}
			for _, st := range doc.Statement {
				if !strings.HasPrefix(st.Sid, "Roles") {
					continue
				}
				res, _ := json.Marshal(st.Resource)
				if got := strings.Contains(string(res), "role/"+cfg.ExecutionRole); got != tc.wantExecIn {
					t.Errorf("%s on %s: execution role in it = %v, want %v", st.Sid, res, got, tc.wantExecIn)
				}
				if !strings.Contains(string(res), "role/pure-deploy") {
					t.Errorf("%s on %s: the deploy role, the bootstrap's to make, is not in it", st.Sid, res)
				}
			}
		})
	}
}

// TestJudgeBoundary: the boundary found is kept, repaired or advised on.
func TestJudgeBoundary(t *testing.T) {
	t.Parallel()
	want := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["ecs:UpdateService"],"Resource":"*"}]}`
	console := `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"ecs:UpdateService","Resource":"*","Sid":""}}`
	wider := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["*"],"Resource":"*"}]}`
	for _, tc := range []struct {
		name       string
		doc        string
		owner      Owner
		wantAction Action
		wantAdvice bool
	}{
		{"ours, as wanted", want, OwnerUs, Exists, false},
		{"ours, as the console writes it", console, OwnerUs, Exists, false},
		{"ours, widened by hand", wider, OwnerUs, Change, false},
		{"someone else's of that name", wider, OwnerAdopted, Exists, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := judgeBoundary(boundarySeen{arn: "arn:aws:iam::1:policy/x-boundary", doc: tc.doc}, tc.owner, want)
			if f.action() != tc.wantAction || (len(f.advice) > 0) != tc.wantAdvice {
				t.Errorf("judge = %s, advice %q; want %s, advice %v", f.action(), f.advice, tc.wantAction, tc.wantAdvice)
			}
		})
	}
}

// awsCalls are the IAM actions of the AWS calls in the Go files of glob
// (tests left out), each match of call named by action.
func awsCalls(t *testing.T, glob string, call *regexp.Regexp, action func(match []string) string) []string {
	t.Helper()
	files, _ := filepath.Glob(glob)
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
			if a := action(m); !slices.Contains(called, a) {
				called = append(called, a)
			}
		}
	}
	return called
}
