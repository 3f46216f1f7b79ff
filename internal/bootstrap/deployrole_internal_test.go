package bootstrap

import (
	"encoding/json"
	"regexp"
	"slices"
	"testing"
)

// TestDeployRoleCoversTheEngine reads every AWS call the deploy engine
// makes (internal/ecsdeploy, through its clients) and checks the deploy
// role may make it: a new call (the service deployments of a blue/green
// rollout, say) fails here, not in a user's first deploy.
func TestDeployRoleCoversTheEngine(t *testing.T) {
	t.Parallel()
	prefix := map[string]string{"ecs": "ecs", "elb": "elasticloadbalancing", "ec2": "ec2", "alarms": "cloudwatch", "logs": "logs"}
	call := regexp.MustCompile(`\br\.(ecs|elb|ec2|alarms|logs)\.([A-Z][A-Za-z]+)\(|\becs\.New([A-Z][A-Za-z]+)Paginator\(`)
	called := awsCalls(t, "../ecsdeploy/*.go", call, func(m []string) string {
		if m[3] != "" {
			return "ecs:" + m[3]
		}
		return prefix[m[1]] + ":" + m[2]
	})
	if len(called) < 20 {
		t.Fatalf("found %d calls in the engine: the pattern no longer matches it", len(called))
	}
	cfg := Named("pure")
	cfg.Region = "us-east-1"
	cfg.GitHub = &GitHub{Repository: "autonote/autonote", Branch: "main", Role: "pure-deploy"}
	s, err := New(Clients{}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	granted := policyActions(s.deployPolicy())
	for _, a := range called {
		if !slices.Contains(granted, a) {
			t.Errorf("the engine calls %s, which the deploy role may not", a)
		}
	}
}

// policyActions are the actions a policy document allows.
func policyActions(doc string) []string {
	var d struct{ Statement []struct{ Action any } }
	_ = json.Unmarshal([]byte(doc), &d)
	var out []string
	for _, st := range d.Statement {
		switch a := st.Action.(type) {
		case string:
			out = append(out, a)
		case []any:
			for _, x := range a {
				if s, ok := x.(string); ok {
					out = append(out, s)
				}
			}
		}
	}
	return out
}
