package iamsim_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/autonote/deploy-action/internal/testbed/iamsim"
)

var evaluator iamsim.Lazy

// TestDecisions: the evaluator answers as IAM does for what the test bed
// asks of it: identity policies, a boundary, an explicit deny, and a
// request that names a resource its action does not take.
func TestDecisions(t *testing.T) {
	t.Parallel()
	e, err := evaluator.Get()
	if err != nil {
		t.Fatal(err)
	}
	const service = "arn:aws:ecs:us-east-1:123456789012:service/c/s"
	deploy := json.RawMessage(`{"Version":"2012-10-17","Statement":[
		{"Sid":"Service","Effect":"Allow","Action":["ecs:UpdateService","ecs:DescribeServices"],"Resource":"` + service + `"},
		{"Sid":"NoDescribe","Effect":"Deny","Action":"ecs:DescribeServices","Resource":"*","Condition":{"StringEquals":{"ecs:cluster":"arn:aws:ecs:us-east-1:123456789012:cluster/secret"}}}]}`)
	boundary := json.RawMessage(`{"Version":"2012-10-17","Statement":[{"Sid":"B","Effect":"Allow","Action":"ecs:UpdateService","Resource":"*"}]}`)
	for _, tc := range []struct {
		name     string
		action   string
		resource string
		context  map[string]any
		boundary bool
		want     string
		blocked  string
	}{
		{"allowed by a statement", "ecs:UpdateService", service, nil, false, "Allowed", ""},
		{"another service", "ecs:UpdateService", "arn:aws:ecs:us-east-1:123456789012:service/c/other", nil, false, "ImplicitlyDenied", "identity"},
		{"allowed, and inside the boundary", "ecs:UpdateService", service, nil, true, "Allowed", ""},
		{"allowed, outside the boundary", "ecs:DescribeServices", service, nil, true, "ImplicitlyDenied", "pb"},
		{"an explicit deny", "ecs:DescribeServices", service, map[string]any{"ecs:cluster": "arn:aws:ecs:us-east-1:123456789012:cluster/secret"}, false, "ExplicitlyDenied", "identity"},
		{"a resource the action does not take", "ecs:DeregisterTaskDefinition", "arn:aws:ecs:us-east-1:123456789012:task-definition/f:1", nil, false, "Error", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := iamsim.Simulation{Principal: "arn:aws:sts::123456789012:assumed-role/deploy/run", Action: tc.action, Resource: tc.resource, Account: "123456789012",
				Context: tc.context, Identity: []iamsim.Policy{{Name: "deploy", Document: deploy}}}
			if tc.boundary {
				s.Boundary = []iamsim.Policy{{Name: "boundary", Document: boundary}}
			}
			d, err := e.Evaluate(context.Background(), s)
			if err != nil {
				t.Fatal(err)
			}
			if d.Result != tc.want {
				t.Fatalf("result %s (%s), want %s", d.Result, d.Error, tc.want)
			}
			if tc.blocked != "" && (len(d.BlockedBy) == 0 || d.BlockedBy[0] != tc.blocked) {
				t.Errorf("blocked by %v, want %s", d.BlockedBy, tc.blocked)
			}
			if d.Allowed() && (len(d.Allow) == 0 || d.Allow[0] != "deploy/Service") {
				t.Errorf("allowed by %v, want deploy/Service", d.Allow)
			}
		})
	}
}
