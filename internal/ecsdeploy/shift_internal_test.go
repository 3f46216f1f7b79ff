package ecsdeploy

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
)

// shiftECS is an in-memory ECS service deployment that shifts traffic: it
// walks forward through its stages, stays at a stage whose PAUSE hook
// awaits an answer until it gets one, and walks the return (back) once
// sent back by a hook's ROLLBACK or by StopServiceDeployment.
type shiftECS struct {
	ECSAPI
	mu            sync.Mutex
	forward, back []types.ServiceDeployment
	at            int
	returning     bool
	answered      map[string]bool
	calls         []string
}

const sdARN = "arn:aws:ecs:us-east-1:123456789012:service-deployment/c/s/2"

func (f *shiftECS) list() []types.ServiceDeployment {
	if f.returning {
		return f.back
	}
	return f.forward
}

func (f *shiftECS) ListServiceDeployments(context.Context, *ecs.ListServiceDeploymentsInput, ...func(*ecs.Options)) (*ecs.ListServiceDeploymentsOutput, error) {
	return &ecs.ListServiceDeploymentsOutput{ServiceDeployments: []types.ServiceDeploymentBrief{{ServiceDeploymentArn: aws.String(sdARN), Status: types.ServiceDeploymentStatusInProgress}}}, nil
}

func (f *shiftECS) DescribeServiceDeployments(context.Context, *ecs.DescribeServiceDeploymentsInput, ...func(*ecs.Options)) (*ecs.DescribeServiceDeploymentsOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	l := f.list()
	sd := l[min(f.at, len(l)-1)]
	waiting := slices.ContainsFunc(sd.LifecycleHookDetails, func(h types.DeploymentLifecycleHookDetail) bool {
		return h.Status == types.DeploymentLifecycleHookStatusAwaitingAction && !f.answered[aws.ToString(h.HookId)]
	})
	if !waiting {
		f.at++
	}
	return &ecs.DescribeServiceDeploymentsOutput{ServiceDeployments: []types.ServiceDeployment{sd}}, nil
}

func (f *shiftECS) ContinueServiceDeployment(_ context.Context, in *ecs.ContinueServiceDeploymentInput, _ ...func(*ecs.Options)) (*ecs.ContinueServiceDeploymentOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, fmt.Sprintf("continue %s %s", aws.ToString(in.HookId), in.Action))
	f.answered[aws.ToString(in.HookId)] = true
	if in.Action == types.DeploymentLifecycleHookActionRollback {
		f.returning, f.at = true, 0
	} else {
		f.at++
	}
	return &ecs.ContinueServiceDeploymentOutput{}, nil
}

func (f *shiftECS) StopServiceDeployment(_ context.Context, in *ecs.StopServiceDeploymentInput, _ ...func(*ecs.Options)) (*ecs.StopServiceDeploymentOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, "stop "+string(in.StopType))
	f.returning, f.at = true, 0
	return &ecs.StopServiceDeploymentOutput{}, nil
}

// testListenerELB answers for one test listener rule on its own port.
type testListenerELB struct {
	ELBAPI
	port int32
}

func (e testListenerELB) DescribeRules(context.Context, *elb.DescribeRulesInput, ...func(*elb.Options)) (*elb.DescribeRulesOutput, error) {
	return &elb.DescribeRulesOutput{Rules: []elbtypes.Rule{{RuleArn: aws.String(testRule)}}}, nil
}

func (e testListenerELB) DescribeListeners(_ context.Context, in *elb.DescribeListenersInput, _ ...func(*elb.Options)) (*elb.DescribeListenersOutput, error) {
	if want := "arn:aws:elasticloadbalancing:us-east-1:1:listener/app/s-alb/1/test"; !slices.Equal(in.ListenerArns, []string{want}) {
		return nil, fmt.Errorf("listener %v, want %s", in.ListenerArns, want)
	}
	return &elb.DescribeListenersOutput{Listeners: []elbtypes.Listener{{Port: aws.Int32(e.port), Protocol: elbtypes.ProtocolEnumHttp}}}, nil
}

const testRule = "arn:aws:elasticloadbalancing:us-east-1:1:listener-rule/app/s-alb/1/test/rule1"

func stage(name string, status types.ServiceDeploymentStatus, hook string) types.ServiceDeployment {
	sd := types.ServiceDeployment{ServiceDeploymentArn: aws.String(sdARN), LifecycleStage: types.ServiceDeploymentLifecycleStage(name), Status: status}
	if hook != "" {
		sd.LifecycleHookDetails = []types.DeploymentLifecycleHookDetail{{HookId: aws.String(hook), TargetType: types.DeploymentLifecycleHookTargetTypePause,
			Status: types.DeploymentLifecycleHookStatusAwaitingAction, TimeoutAction: types.DeploymentLifecycleHookActionRollback}}
	}
	return sd
}

// TestFollowShift: the engine's gate of a blue/green deployment on scripted
// service deployments and real HTTP on loopback: blue answers production,
// green the test listener. A good build is continued and completes; one
// whose green tasks fail the test listener's check is sent back at the
// gate, and production never sees green; one that fails during the bake is
// stopped with a rollback, which starts no task.
func TestFollowShift(t *testing.T) {
	t.Parallel()
	const progress, done, back = types.ServiceDeploymentStatusInProgress, types.ServiceDeploymentStatusSuccessful, types.ServiceDeploymentStatusRollbackSuccessful
	forward := []types.ServiceDeployment{
		stage("SCALE_UP", progress, ""), stage("TEST_TRAFFIC_SHIFT", progress, ""), stage("POST_TEST_TRAFFIC_SHIFT", progress, "gate-1"),
		stage("PRODUCTION_TRAFFIC_SHIFT", progress, ""), stage("A_STAGE_AWS_ADDS_LATER", progress, ""), stage("BAKE_TIME", progress, ""),
		stage("BAKE_TIME", progress, ""), stage("CLEAN_UP", progress, ""), stage("CLEAN_UP", done, ""),
	}
	returning := []types.ServiceDeployment{stage("PRODUCTION_TRAFFIC_SHIFT", types.ServiceDeploymentStatusRollbackInProgress, ""), stage("CLEAN_UP", back, "")}
	for _, tc := range []struct {
		name                  string
		green, prodAfterShift int // what green answers on the test listener, and production once shifted
		smoke                 bool
		wantStatus            Status
		wantCalls             []string
		wantAt                string
		prodBeforeShift       bool // production was asked before the shift: it must not be, when green fails the gate
	}{
		{"good build: continued at the gate, baked, done", 200, 200, true, StatusSucceeded, []string{"continue gate-1 CONTINUE"}, "", true},
		{"green answers 500 on the test listener: sent back at the gate", 500, 200, true, StatusRolledBack, []string{"continue gate-1 ROLLBACK"}, "POST_TEST_TRAFFIC_SHIFT", false},
		{"fails during the bake: stopped with a rollback", 200, 500, true, StatusRolledBack, []string{"continue gate-1 CONTINUE", "stop ROLLBACK"}, "BAKE_TIME", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var prodAsked atomic.Int64
			green := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(tc.green) }))
			defer green.Close()
			prod := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				prodAsked.Add(1)
				w.WriteHeader(tc.prodAfterShift)
			}))
			defer prod.Close()
			_, port, _ := net.SplitHostPort(green.Listener.Addr().String())
			var p int32
			fmt.Sscan(port, &p)
			fake := &shiftECS{forward: forward, back: returning, answered: map[string]bool{}}
			d, err := New(fake, WithClock(&virtualClock{now: time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC)}), WithLoadBalancers(testListenerELB{port: p}))
			if err != nil {
				t.Fatal(err)
			}
			req := Request{Target: Target{Cluster: "c", Service: "s"}, Image: "i", Wait: true, Timeout: time.Hour}
			if tc.smoke {
				req.Smoke = &Smoke{Path: "/health", Timeout: 3 * time.Second}
			}
			r := d.newRun(req, verbDeploy)
			r.strategy = types.DeploymentStrategyBlueGreen
			r.lbs = []types.LoadBalancer{{AdvancedConfiguration: &types.AdvancedConfiguration{TestListenerRule: aws.String(testRule)}}}
			r.res.URL, r.res.LoadBalanced, r.res.PreviousTaskDefinitionARN = prod.URL, true, "td:1"
			err = r.followShift(context.Background(), "td:2", "ecs-svc/2", "td:1")
			if r.res.Status != tc.wantStatus || !slices.Equal(fake.calls, tc.wantCalls) || r.res.ReturnedAt != tc.wantAt {
				t.Errorf("follow: %v; status %s, calls %q, returned at %q; want %s, %q, %q", err, r.res.Status, fake.calls, r.res.ReturnedAt, tc.wantStatus, tc.wantCalls, tc.wantAt)
			}
			var rf *RolloutFailedError
			if tc.wantStatus == StatusRolledBack && (!errors.As(err, &rf) || !rf.RolledBack || !errors.Is(err, ErrSmokeFailed) || r.res.TaskDefinitionARN != "td:1") {
				t.Errorf("a return: %v on %s; want a rolled-back RolloutFailedError for the smoke check, on td:1", err, r.res.TaskDefinitionARN)
			}
			if tc.wantStatus == StatusSucceeded && (err != nil || r.res.TaskDefinitionARN != "td:2") {
				t.Errorf("a good build: %v on %s", err, r.res.TaskDefinitionARN)
			}
			if !tc.prodBeforeShift && prodAsked.Load() != 0 {
				t.Errorf("production was asked %d times though green failed the gate before the shift", prodAsked.Load())
			}
			var names []string
			for _, s := range r.res.Stages {
				names = append(names, s.Name)
			}
			if !slices.Contains(names, "POST_TEST_TRAFFIC_SHIFT") || tc.wantStatus == StatusSucceeded && !slices.Contains(names, "A_STAGE_AWS_ADDS_LATER") {
				t.Errorf("stages %q: want each as it came, an unknown one too", names)
			}
		})
	}
}

// TestNextMove: the follow's decisions as a table.
func TestNextMove(t *testing.T) {
	t.Parallel()
	userHook := stage("POST_SCALE_UP", types.ServiceDeploymentStatusInProgress, "someone-elses")
	for _, tc := range []struct {
		name          string
		sd            types.ServiceDeployment
		acted         map[string]bool
		gating, baked bool
		want          moveKind
	}{
		{"the gate awaits", stage("POST_TEST_TRAFFIC_SHIFT", types.ServiceDeploymentStatusInProgress, "h"), nil, true, false, moveGate},
		{"a canary step awaits", stage("PRE_PRODUCTION_TRAFFIC_SHIFT", types.ServiceDeploymentStatusInProgress, "h"), nil, true, false, moveGate},
		{"answered already: wait", stage("POST_TEST_TRAFFIC_SHIFT", types.ServiceDeploymentStatusInProgress, "h"), map[string]bool{"h": true}, true, false, moveWait},
		{"no smoke check: never answer", stage("POST_TEST_TRAFFIC_SHIFT", types.ServiceDeploymentStatusInProgress, "h"), nil, false, false, moveWait},
		{"a hook at another stage is not ours", userHook, nil, true, false, moveWait},
		{"baking: check once", stage("BAKE_TIME", types.ServiceDeploymentStatusInProgress, ""), nil, true, false, moveBakeCheck},
		{"baked and checked: wait", stage("BAKE_TIME", types.ServiceDeploymentStatusInProgress, ""), nil, true, true, moveWait},
		{"returning: wait for it", stage("BAKE_TIME", types.ServiceDeploymentStatusRollbackInProgress, ""), nil, true, false, moveWait},
		{"done", stage("CLEAN_UP", types.ServiceDeploymentStatusSuccessful, ""), nil, true, true, moveDone},
		{"returned", stage("CLEAN_UP", types.ServiceDeploymentStatusRollbackSuccessful, ""), nil, true, true, moveDone},
	} {
		if got := nextMove(&tc.sd, tc.acted, tc.gating, tc.baked); got.kind != tc.want {
			t.Errorf("%s: move %d, want %d", tc.name, got.kind, tc.want)
		}
	}
}

// TestUnansweredGates: the PAUSE hooks a run without a smoke check would
// leave to their timeout.
func TestUnansweredGates(t *testing.T) {
	t.Parallel()
	pause := func(stages ...types.DeploymentLifecycleHookStage) types.DeploymentLifecycleHook {
		return types.DeploymentLifecycleHook{TargetType: types.DeploymentLifecycleHookTargetTypePause, LifecycleStages: stages}
	}
	lambda := types.DeploymentLifecycleHook{TargetType: types.DeploymentLifecycleHookTargetTypeAwsLambda, LifecycleStages: []types.DeploymentLifecycleHookStage{"POST_TEST_TRAFFIC_SHIFT"}}
	for _, tc := range []struct {
		name  string
		hooks []types.DeploymentLifecycleHook
		want  []string
	}{
		{"none", nil, nil},
		{"a Lambda hook answers itself", []types.DeploymentLifecycleHook{lambda}, nil},
		{"a pause at the gate", []types.DeploymentLifecycleHook{pause("POST_TEST_TRAFFIC_SHIFT")}, []string{"POST_TEST_TRAFFIC_SHIFT"}},
		{"a pause before each step, and an approval elsewhere", []types.DeploymentLifecycleHook{pause("POST_TEST_TRAFFIC_SHIFT", "PRE_PRODUCTION_TRAFFIC_SHIFT"), pause("POST_SCALE_UP")},
			[]string{"POST_TEST_TRAFFIC_SHIFT", "PRE_PRODUCTION_TRAFFIC_SHIFT"}},
	} {
		if got := unansweredGates(&types.DeploymentConfiguration{LifecycleHooks: tc.hooks}); !slices.Equal(got, tc.want) {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestGreenShare(t *testing.T) {
	t.Parallel()
	weighted := func(blue, green int32) []elbtypes.Action {
		return []elbtypes.Action{{Type: elbtypes.ActionTypeEnumForward, ForwardConfig: &elbtypes.ForwardActionConfig{TargetGroups: []elbtypes.TargetGroupTuple{
			{TargetGroupArn: aws.String("blue"), Weight: aws.Int32(blue)}, {TargetGroupArn: aws.String("green"), Weight: aws.Int32(green)}}}}}
	}
	for _, tc := range []struct {
		name    string
		actions []elbtypes.Action
		want    int
		read    bool
	}{
		{"all on blue", weighted(100, 0), 0, true},
		{"a canary's 10 %", weighted(90, 10), 10, true},
		{"weights that do not add to 100", weighted(3, 1), 25, true},
		{"all on green", weighted(0, 100), 100, true},
		{"a plain forward to green", []elbtypes.Action{{Type: elbtypes.ActionTypeEnumForward, TargetGroupArn: aws.String("green")}}, 100, true},
		{"a plain forward to blue", []elbtypes.Action{{Type: elbtypes.ActionTypeEnumForward, TargetGroupArn: aws.String("blue")}}, 0, true},
		{"no forward (a fixed response)", []elbtypes.Action{{Type: elbtypes.ActionTypeEnumFixedResponse}}, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got, read := greenShare(tc.actions, "green"); got != tc.want || read != tc.read {
				t.Errorf("greenShare = %d %v, want %d %v", got, read, tc.want, tc.read)
			}
		})
	}
}
