package ecsdeploy_test

import (
	"cmp"
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"

	"github.com/autonote/deploy-action/internal/ecsdeploy"
	"github.com/autonote/deploy-action/internal/ecssim"
	"github.com/autonote/deploy-action/internal/testbed"
)

// TestBlueGreen, over the wire: a blue/green service in the simulator, behind a
// load balancer in moto whose listeners this test's dialer routes to
// loopback: the test listener (8080) reaches green; production (80) reaches
// blue until the simulator shifts it. A good build passes the gate through
// the test listener, is continued, bakes and completes; a build whose green
// tasks answer 500 is sent back at the gate and production never reaches
// green, with one UpdateService and no task started for the return.
func TestBlueGreen(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name       string
		green      int
		wantStatus ecsdeploy.Status
		wantCalls  map[string]int
	}{
		{"good", http.StatusOK, ecsdeploy.StatusSucceeded, map[string]int{"RegisterTaskDefinition": 1, "UpdateService": 1, "ContinueServiceDeployment": 1, "StopServiceDeployment": 0}},
		{"green500", http.StatusInternalServerError, ecsdeploy.StatusRolledBack, map[string]int{"RegisterTaskDefinition": 1, "UpdateService": 1, "ContinueServiceDeployment": 1, "StopServiceDeployment": 0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, fixtureOpts{loadBalanced: true, blueGreen: true, circuitBreaker: true})
			f.bed.Sim.SetScenario("shift", ecssim.Scenario{Outcome: ecssim.Complete, After: 3 * time.Second})
			var viaTest, prodOnGreen atomic.Int64
			green := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				viaTest.Add(1)
				w.WriteHeader(tc.green)
			}))
			defer green.Close()
			prod := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				if _, share := f.bed.Sim.Traffic(f.target.Service); share > 0 {
					prodOnGreen.Add(1)
					w.WriteHeader(tc.green)
					return
				}
				w.WriteHeader(http.StatusOK) // blue
			}))
			defer prod.Close()
			dialer := &net.Dialer{Timeout: 2 * time.Second}
			tr := &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
				// The load balancer's name resolves to loopback here only:
				// its listeners by port.
				_, port, _ := net.SplitHostPort(addr)
				to := prod.Listener.Addr().String()
				if port == strconv.Itoa(testbed.TestPort) {
					to = green.Listener.Addr().String()
				}
				return dialer.DialContext(ctx, network, to)
			}}
			f.bed.Sim.ResetCalls()
			req := f.request(f.image("shift-1"))
			req.Timeout = 30 * time.Second
			req.Smoke = &ecsdeploy.Smoke{Path: "/health", Timeout: time.Second, Transport: tr}
			res, err := f.deployer.Deploy(context.Background(), req)
			if res == nil || res.Status != tc.wantStatus || res.Strategy != "BLUE_GREEN" {
				t.Fatalf("deploy: %v (result %v); want %s by BLUE_GREEN", err, res != nil && res.Strategy == "BLUE_GREEN", tc.wantStatus)
			}
			calls := f.bed.Sim.Calls()
			for op, n := range tc.wantCalls {
				if calls[op] != n {
					t.Errorf("%s calls: %d, want %d (all: %v)", op, calls[op], n, calls)
				}
			}
			if viaTest.Load() == 0 {
				t.Error("the gate never asked the test listener")
			}
			var stages []string
			for _, s := range res.Stages {
				stages = append(stages, s.Name)
			}
			if !slices.Contains(stages, "POST_TEST_TRAFFIC_SHIFT") {
				t.Errorf("stages %q: want the gate's among them", stages)
			}
			// The simulator moves the rules' weights in moto as ECS does;
			// the engine read production's share at each stage.
			share := map[string]int{}
			for _, st := range res.Stages {
				if !st.Weighed {
					t.Errorf("stage %s: the production rule's weights were not read", st.Name)
				}
				share[st.Name] = st.Production
			}
			if p, ok := share["POST_TEST_TRAFFIC_SHIFT"]; !ok || p != 0 {
				t.Errorf("production on green at the gate: %d %% (%v), want 0 %%", p, ok)
			}
			if p, ok := share["BAKE_TIME"]; tc.wantStatus == ecsdeploy.StatusSucceeded && (!ok || p != 100) {
				t.Errorf("production on green during the bake: %d %% (%v), want 100 %%", p, ok)
			}
			svc := f.service(t)
			adv := svc.LoadBalancers[0].AdvancedConfiguration
			rules, rerr := f.bed.ELB().DescribeRules(context.Background(), &elb.DescribeRulesInput{RuleArns: []string{aws.ToString(adv.ProductionListenerRule)}})
			if rerr != nil || len(rules.Rules) != 1 || rules.Rules[0].Actions[0].ForwardConfig == nil {
				t.Fatalf("production rule in moto: %v %+v", rerr, rules)
			}
			weights := map[string]int32{}
			for _, g := range rules.Rules[0].Actions[0].ForwardConfig.TargetGroups {
				weights[aws.ToString(g.TargetGroupArn)] = aws.ToInt32(g.Weight)
			}
			if wantGreen := map[ecsdeploy.Status]int32{ecsdeploy.StatusSucceeded: 100, ecsdeploy.StatusRolledBack: 0}[tc.wantStatus]; weights[aws.ToString(adv.AlternateTargetGroupArn)] != wantGreen {
				t.Errorf("production rule's weights in moto after the deploy: %v, want %d on the alternate target group", weights, wantGreen)
			}
			switch tc.wantStatus {
			case ecsdeploy.StatusSucceeded:
				if err != nil || !slices.Contains(stages, "BAKE_TIME") || f.imageOf(t, aws.ToString(svc.TaskDefinition)) != req.Image {
					t.Errorf("a good build: %v, stages %q, the service runs %s", err, stages, f.imageOf(t, aws.ToString(svc.TaskDefinition)))
				}
				if prodOnGreen.Load() == 0 {
					t.Error("the bake's check never reached green through production")
				}
			default:
				var rf *ecsdeploy.RolloutFailedError
				if !errors.As(err, &rf) || !rf.RolledBack || !errors.Is(err, ecsdeploy.ErrSmokeFailed) || res.ReturnedAt != "POST_TEST_TRAFFIC_SHIFT" {
					t.Errorf("a build that fails the gate: %v, returned at %q; want rolled back at POST_TEST_TRAFFIC_SHIFT for the smoke check", err, res.ReturnedAt)
				}
				if aws.ToString(svc.TaskDefinition) != f.firstTD || prodOnGreen.Load() != 0 {
					t.Errorf("the service runs %s (want %s); production reached green %d times (want 0)", aws.ToString(svc.TaskDefinition), f.firstTD, prodOnGreen.Load())
				}
			}
		})
	}
}

// TestBlueGreenRerun: the run that deployed dies (its context
// cancelled) right after UpdateService, while the deployment will pause at
// the gate; the re-run meets it in flight, attaches, gates it through the
// test listener and continues it once, registering and updating nothing.
func TestBlueGreenRerun(t *testing.T) {
	t.Parallel()
	f := newFixture(t, fixtureOpts{loadBalanced: true, blueGreen: true, circuitBreaker: true})
	f.bed.Sim.SetScenario("shift", ecssim.Scenario{Outcome: ecssim.Complete, After: 3 * time.Second})
	tr := healthyTransport(t)
	req := f.request(f.image("shift-1"))
	req.Timeout = 30 * time.Second
	req.Smoke = &ecsdeploy.Smoke{Path: "/health", Timeout: time.Second, Transport: tr}
	killed, ctx := crashAfter(t, f, 2)
	if _, err := killed.Deploy(ctx, req); !errors.Is(err, context.Canceled) {
		t.Fatalf("the killed run ended with %v, want context.Canceled", err)
	}
	f.bed.Sim.ResetCalls()
	res, err := f.deployer.Deploy(context.Background(), req)
	calls := f.bed.Sim.Calls()
	if err != nil || res.Status != ecsdeploy.StatusSucceeded || calls["ContinueServiceDeployment"] != 1 || calls["RegisterTaskDefinition"]+calls["UpdateService"] != 0 {
		t.Errorf("re-run: %v, %s, calls %v; want succeeded, one ContinueServiceDeployment, no registration or update", err, res.Status, calls)
	}
}

// TestCanaryAlarmAtTheSecondStep: a canary deployment (10 % of production
// first, then the rest, a PAUSE hook before each step); a rollback alarm
// goes to ALARM once the first step took production's 10 %: at the second
// step's hook the engine reads it and sends the deployment back, traffic
// returns to blue, and no task starts.
func TestCanaryAlarmAtTheSecondStep(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	name := "canary-5xx-" + time.Now().Format("150405.000000")
	f := newFixture(t, fixtureOpts{loadBalanced: true, blueGreen: true, canary: true, circuitBreaker: true, alarms: []string{name}, alarmsWatchOnly: true})
	cw := putAlarm(t, f, name)
	f.bed.Sim.SetScenario("canary", ecssim.Scenario{Outcome: ecssim.Complete, After: 4 * time.Second})
	tr := healthyTransport(t)
	stepped := make(chan struct{})
	go func() { // the canary's share raises the alarm
		defer close(stepped)
		for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
			if _, share := f.bed.Sim.Traffic(f.target.Service); share > 0 {
				_, _ = cw.SetAlarmState(ctx, &cloudwatch.SetAlarmStateInput{AlarmName: aws.String(name), StateValue: cwtypes.StateValueAlarm,
					StateReason: aws.String("Threshold Crossed: the canary's 10 % answered 5xx")})
				return
			}
		}
	}()
	f.bed.Sim.ResetCalls()
	req := f.request(f.image("canary-1"))
	req.Timeout = 30 * time.Second
	req.Smoke = &ecsdeploy.Smoke{Path: "/health", Timeout: time.Second, Transport: tr}
	res, err := f.deployer.Deploy(ctx, req)
	<-stepped
	calls := f.bed.Sim.Calls()
	var rf *ecsdeploy.RolloutFailedError
	if res == nil || res.Status != ecsdeploy.StatusRolledBack || !errors.As(err, &rf) || !rf.RolledBack || res.ReturnedAt != "PRE_PRODUCTION_TRAFFIC_SHIFT" {
		var st ecsdeploy.Status
		var at string
		if res != nil {
			st, at = res.Status, res.ReturnedAt
		}
		t.Fatalf("canary: %s, sent back at %q, %v; want rolled back at PRE_PRODUCTION_TRAFFIC_SHIFT", st, at, err)
	}
	if !slices.ContainsFunc(res.Stages, func(st ecsdeploy.Stage) bool {
		return st.Name == "PRE_PRODUCTION_TRAFFIC_SHIFT" && st.Weighed && st.Production == 10
	}) {
		t.Errorf("stages %+v: want the second step's hook met with the canary's 10 %% of production on green", res.Stages)
	}
	if len(res.Alarms) != 1 || res.Alarms[0].Name != name {
		t.Errorf("alarms named %+v, want %s", res.Alarms, name)
	}
	if calls["ContinueServiceDeployment"] != 3 || calls["UpdateService"] != 1 {
		t.Errorf("calls %v: want three hooks answered (the test traffic, the first step, the second: rollback) and one UpdateService", calls)
	}
	if _, share := f.bed.Sim.Traffic(f.target.Service); share != 0 || aws.ToString(f.service(t).TaskDefinition) != f.firstTD {
		t.Errorf("after the return: production %d %% on green, the service runs %s; want 0 %% and %s", share, aws.ToString(f.service(t).TaskDefinition), f.firstTD)
	}
}

// TestRedeployShiftsAsADeployDoes: a redeploy (new tasks of the revision
// the service runs, as after a rotated API key) of a blue/green and of a
// canary service is followed by its lifecycle stages and gated at each of
// its hooks as a deploy is: it completes at once, instead of leaving the
// hooks unanswered until ECS's timeout.
func TestRedeployShiftsAsADeployDoes(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		canary bool
		gates  int // ContinueServiceDeployment calls: one a hook met (a canary meets its pre-production hook at each of its two steps)
	}{{"blue-green", false, 1}, {"canary", true, 3}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, fixtureOpts{loadBalanced: true, blueGreen: true, canary: tc.canary, circuitBreaker: true})
			f.bed.Sim.SetScenario(":first", ecssim.Scenario{Outcome: ecssim.Complete, After: 3 * time.Second})
			f.waitStable(t)
			tr := healthyTransport(t)
			f.bed.Sim.ResetCalls()
			req := f.request("")
			req.Timeout = 30 * time.Second
			req.Smoke = &ecsdeploy.Smoke{Path: "/health", Timeout: time.Second, Transport: tr}
			res, err := f.deployer.Redeploy(context.Background(), req)
			calls := f.bed.Sim.Calls()
			if err != nil || res.Status != ecsdeploy.StatusSucceeded || res.Strategy != "BLUE_GREEN" && res.Strategy != "CANARY" {
				t.Fatalf("redeploy: %v, %v, strategy %q; want succeeded, followed by its strategy", err, res.Status, res.Strategy)
			}
			if calls["ContinueServiceDeployment"] != tc.gates || calls["RegisterTaskDefinition"] != 0 || calls["UpdateService"] != 1 {
				t.Errorf("calls %v: want %d gates answered, one UpdateService, no registration", calls, tc.gates)
			}
			if res.TaskDefinitionARN != f.firstTD {
				t.Errorf("the redeploy runs %s, want the same revision %s", res.TaskDefinitionARN, f.firstTD)
			}
		})
	}
}

// TestRollbackShiftsAsADeployDoes: a return by SHA to an earlier build of a
// blue/green service is a deploy of that build: the same revision reused,
// its traffic shifted and gated at the hook, and it completes.
func TestRollbackShiftsAsADeployDoes(t *testing.T) {
	t.Parallel()
	f := newFixture(t, fixtureOpts{loadBalanced: true, blueGreen: true, circuitBreaker: true})
	f.bed.Sim.SetScenario(":", ecssim.Scenario{Outcome: ecssim.Complete, After: 3 * time.Second})
	ctx := context.Background()
	repo := f.repository(t)
	tr := healthyTransport(t)
	request := func(image string) ecsdeploy.Request {
		req := f.request(image)
		req.Timeout = 30 * time.Second
		req.Smoke = &ecsdeploy.Smoke{Path: "/health", Timeout: time.Second, Transport: tr}
		return req
	}
	sha1, sha2 := testbed.SHA(), testbed.SHA()
	var first *ecsdeploy.Result
	for _, sha := range []string{sha1, sha2} {
		if _, err := f.bed.PushRandomImage(ctx, "autonote/server", sha); err != nil {
			t.Fatal(err)
		}
		res, err := f.deployer.Deploy(ctx, request(f.image(sha)))
		if err != nil {
			t.Fatalf("deploy %s: %v", sha, err)
		}
		first = cmp.Or(first, res)
	}
	f.bed.Sim.ResetCalls()
	res, err := f.deployer.Rollback(ctx, request(""), ecsdeploy.RollbackTo{SHA: sha1}, repo)
	calls := f.bed.Sim.Calls()
	if err != nil || res.Status != ecsdeploy.StatusSucceeded || res.Strategy != "BLUE_GREEN" {
		t.Fatalf("rollback: %v, %v, strategy %q; want succeeded, followed by its strategy", err, res.Status, res.Strategy)
	}
	if calls["ContinueServiceDeployment"] != 1 || calls["RegisterTaskDefinition"] != 0 || calls["UpdateService"] != 1 {
		t.Errorf("calls %v: want the hook answered once, one UpdateService, no registration", calls)
	}
	if res.TaskDefinitionARN != first.TaskDefinitionARN {
		t.Errorf("the rollback runs %s, want %s's revision %s reused", res.TaskDefinitionARN, sha1[:7], first.TaskDefinitionARN)
	}
}

// TestGateOutlivedByItsHook: the hook times out (ECS takes its ROLLBACK
// action) while the gate's smoke check still runs; the answer that follows
// is refused as "not awaiting an action", and the deploy follows what ECS
// did, ending rolled back instead of failing on the refused answer.
func TestGateOutlivedByItsHook(t *testing.T) {
	t.Parallel()
	f := newFixture(t, fixtureOpts{loadBalanced: true, blueGreen: true, circuitBreaker: true})
	// A rollout of 100 ms: the simulator's hook times out after 30 of
	// them, 3 s, within the check's 5 s.
	f.bed.Sim.SetScenario("outlived", ecssim.Scenario{Outcome: ecssim.Complete, After: 100 * time.Millisecond})
	tr := answering(t, http.StatusInternalServerError)
	req := f.request(f.image("outlived-1"))
	req.Timeout = 30 * time.Second
	req.Smoke = &ecsdeploy.Smoke{Path: "/health", Timeout: 5 * time.Second, Transport: tr}
	res, err := f.deployer.Deploy(context.Background(), req)
	if res == nil || res.Status != ecsdeploy.StatusRolledBack || err != nil && strings.Contains(err.Error(), "not awaiting") {
		t.Fatalf("deploy: %v (status %v); want rolled back, the refused answer followed up", err, res != nil && res.Status == ecsdeploy.StatusRolledBack)
	}
	if got := aws.ToString(f.service(t).TaskDefinition); got != f.firstTD {
		t.Errorf("the service runs %s, want %s", got, f.firstTD)
	}
}
