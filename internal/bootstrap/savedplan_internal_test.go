package bootstrap

import (
	"errors"
	"strings"
	"testing"
)

// TestChangedSinceThePlan: what apply PLANFILE compares, without a server.
func TestChangedSinceThePlan(t *testing.T) {
	t.Parallel()
	vpc := Step{Kind: "vpc", Name: "s-vpc 10.0.0.0/16", Action: Create}
	sg := Step{Kind: "security group", Name: "s-sg", Action: Change, Detail: "ingress tcp 3000 from 198.51.100.0/24 is missing"}
	logs := Step{Kind: "log group", Name: "/ecs/s", Action: Exists}
	for _, tc := range []struct {
		name       string
		now        []Step
		wantPrefix string // "" for as planned
	}{
		{"as planned", []Step{vpc, sg, logs}, ""},
		{"made since by someone else", []Step{{Kind: "vpc", Name: vpc.Name, Action: Exists}, sg, logs}, "vpc s-vpc 10.0.0.0/16: planned create, now exists"},
		{"a change in other words", []Step{vpc, {Kind: sg.Kind, Name: sg.Name, Action: Change, Detail: "ingress tcp 22-22 is not in the config"}, logs}, "security group s-sg: planned change (ingress tcp 3000"},
		{"drift since the plan", []Step{vpc, sg, {Kind: logs.Kind, Name: logs.Name, Action: Change, Detail: "retention 3 days"}}, "log group /ecs/s: planned exists, now change"},
		{"a planned change gone", []Step{vpc, logs}, "security group s-sg: planned change"},
		{"a resource the plan lacks", []Step{vpc, sg, logs, {Kind: "alarms", Name: "s", Action: Create}}, "alarms s: not in the plan, now create"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := changed([]Step{vpc, sg, logs}, tc.now)
			if (tc.wantPrefix == "") != (got == "") || !strings.HasPrefix(got, tc.wantPrefix) {
				t.Errorf("changed = %q, want %q", got, tc.wantPrefix)
			}
		})
	}
	s := &Stack{}
	if err := WithPlan([]Step{vpc, sg, logs})(s); err != nil {
		t.Fatal(err)
	}
	if err := s.asPlanned(sg); err != nil {
		t.Errorf("a planned change refused: %v", err)
	}
	if err := s.asPlanned(Step{Kind: "log group", Name: "/ecs/s", Action: Change, Detail: "retention 3 days"}); !errors.Is(err, ErrPlanChanged) || !strings.Contains(err.Error(), "it was not touched") {
		t.Errorf("an unplanned change: %v, want refused before it is made", err)
	}
}
