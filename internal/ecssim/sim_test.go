package ecssim_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/autonote/deploy-action/internal/ecssim"
	"github.com/autonote/deploy-action/internal/testbed"
)

var motoServer testbed.LazyMoto

func TestMain(m *testing.M) { os.Exit(motoServer.Run(m)) }

// clock is a clock the test moves by hand.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func setup(t *testing.T, name string, breaker, rollback bool, opts ...ecssim.Option) (*ecs.Client, *ecssim.Simulator, *clock) {
	t.Helper()
	clk := &clock{now: time.Date(2026, 11, 29, 9, 0, 0, 0, time.UTC)}
	sim, err := ecssim.New(motoServer.Get(t).URL, append([]ecssim.Option{ecssim.WithClock(clk.Now), ecssim.WithDuration(10 * time.Second)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	client := ecs.New(ecs.Options{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL),
		Credentials: credentials.NewStaticCredentialsProvider("k", "s", "")})
	ctx := context.Background()
	if _, err := client.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String(name)}); err != nil {
		t.Fatal(err)
	}
	for _, tag := range []string{"good", "bad"} {
		if _, err := client.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{Family: aws.String(name),
			ContainerDefinitions: []types.ContainerDefinition{{Name: aws.String("server"), Image: aws.String("r/app:" + tag), Memory: aws.Int32(512)}}}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := client.CreateService(ctx, &ecs.CreateServiceInput{Cluster: aws.String(name), ServiceName: aws.String(name),
		TaskDefinition: aws.String(name + ":1"), DesiredCount: aws.Int32(2),
		DeploymentConfiguration: &types.DeploymentConfiguration{DeploymentCircuitBreaker: &types.DeploymentCircuitBreaker{Enable: breaker, Rollback: rollback}}}); err != nil {
		t.Fatal(err)
	}
	clk.add(11 * time.Second)
	return client, sim, clk
}

func describe(t *testing.T, c *ecs.Client, name string) types.Service {
	t.Helper()
	out, err := c.DescribeServices(context.Background(), &ecs.DescribeServicesInput{Cluster: aws.String(name), Services: []string{name}})
	if err != nil || len(out.Services) != 1 {
		t.Fatalf("describe: %v %+v", err, out)
	}
	return out.Services[0]
}

func TestRolloutCompletes(t *testing.T) {
	t.Parallel()
	c, _, clk := setup(t, "sim-complete", true, true)
	s := describe(t, c, "sim-complete")
	if len(s.Deployments) != 1 || s.RunningCount != 2 || s.Deployments[0].RolloutState != types.DeploymentRolloutStateCompleted {
		t.Fatalf("created service not stable: %+v", s)
	}
	up, err := c.UpdateService(context.Background(), &ecs.UpdateServiceInput{Cluster: aws.String("sim-complete"), Service: aws.String("sim-complete"), TaskDefinition: aws.String("sim-complete:2")})
	if err != nil {
		t.Fatal(err)
	}
	id := aws.ToString(up.Service.Deployments[0].Id)
	steps := []struct {
		after   time.Duration
		running int32
		deps    int
		state   types.DeploymentRolloutState
	}{
		{0, 2, 2, types.DeploymentRolloutStateInProgress},
		{5 * time.Second, 2, 2, types.DeploymentRolloutStateInProgress},
		{5 * time.Second, 2, 1, types.DeploymentRolloutStateCompleted},
	}
	for i, st := range steps {
		clk.add(st.after)
		s := describe(t, c, "sim-complete")
		var mine *types.Deployment
		for j := range s.Deployments {
			if aws.ToString(s.Deployments[j].Id) == id {
				mine = &s.Deployments[j]
			}
		}
		if mine == nil || mine.RolloutState != st.state || len(s.Deployments) != st.deps || s.RunningCount != st.running {
			t.Errorf("step %d: running %d, %d deployments, mine %+v; want running %d, %d deployments, %s", i, s.RunningCount, len(s.Deployments), mine, st.running, st.deps, st.state)
		}
	}
	s = describe(t, c, "sim-complete")
	if !strings.HasSuffix(aws.ToString(s.Events[0].Message), "has reached a steady state.") {
		t.Errorf("newest event = %q, want a steady state", aws.ToString(s.Events[0].Message))
	}
}

func TestRolloutFails(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name              string
		breaker, rollback bool
		wantState         types.DeploymentRolloutState
		wantPrimaryTD     string
	}{
		{"circuit breaker rolls back", true, true, types.DeploymentRolloutStateFailed, ":1"},
		{"circuit breaker without rollback", true, false, types.DeploymentRolloutStateFailed, ":2"},
		{"no circuit breaker keeps trying", false, false, types.DeploymentRolloutStateInProgress, ":2"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			name := []string{"sim-fail-a", "sim-fail-b", "sim-fail-c"}[i]
			c, sim, clk := setup(t, name, tt.breaker, tt.rollback)
			sim.SetScenario(":bad", ecssim.Scenario{Outcome: ecssim.Fail, StoppedReason: "CannotPullContainerError: ref not found", ExitCode: aws.Int32(1)})
			up, err := c.UpdateService(context.Background(), &ecs.UpdateServiceInput{Cluster: aws.String(name), Service: aws.String(name), TaskDefinition: aws.String(name + ":2")})
			if err != nil {
				t.Fatal(err)
			}
			id := aws.ToString(up.Service.Deployments[0].Id)
			clk.add(10 * time.Second)
			s := describe(t, c, name)
			var mine, primary *types.Deployment
			for j := range s.Deployments {
				if aws.ToString(s.Deployments[j].Id) == id {
					mine = &s.Deployments[j]
				}
				if aws.ToString(s.Deployments[j].Status) == "PRIMARY" {
					primary = &s.Deployments[j]
				}
			}
			if mine == nil || mine.RolloutState != tt.wantState || mine.FailedTasks == 0 {
				t.Errorf("deployment = %+v, want %s with failed tasks", mine, tt.wantState)
			}
			if primary == nil || !strings.HasSuffix(aws.ToString(primary.TaskDefinition), tt.wantPrimaryTD) {
				t.Errorf("primary = %+v, want task definition %s", primary, tt.wantPrimaryTD)
			}
			list, err := c.ListTasks(context.Background(), &ecs.ListTasksInput{Cluster: aws.String(name), StartedBy: aws.String(id), DesiredStatus: types.DesiredStatusStopped})
			if err != nil || len(list.TaskArns) == 0 {
				t.Fatalf("stopped tasks: %v %v", err, list)
			}
			tasks, err := c.DescribeTasks(context.Background(), &ecs.DescribeTasksInput{Cluster: aws.String(name), Tasks: list.TaskArns})
			if err != nil {
				t.Fatal(err)
			}
			for _, task := range tasks.Tasks {
				if aws.ToString(task.StoppedReason) != "CannotPullContainerError: ref not found" || aws.ToInt32(task.Containers[0].ExitCode) != 1 {
					t.Errorf("task stopped with %q, exit %v", aws.ToString(task.StoppedReason), task.Containers[0].ExitCode)
				}
			}
		})
	}
}

func TestErrorsAsECSSendsThem(t *testing.T) {
	t.Parallel()
	c, _, _ := setup(t, "sim-errors", false, false)
	ctx := context.Background()
	_, err := c.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String("sim-errors"), Service: aws.String("nope")})
	var snf *types.ServiceNotFoundException
	if !errors.As(err, &snf) {
		t.Errorf("update unknown service: %v, want ServiceNotFoundException", err)
	}
	_, err = c.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String("no-such-cluster"), Services: []string{"x"}})
	var cnf *types.ClusterNotFoundException
	if !errors.As(err, &cnf) {
		t.Errorf("describe in unknown cluster: %v, want ClusterNotFoundException", err)
	}
	out, err := c.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String("sim-errors"), Services: []string{"nope"}})
	if err != nil || len(out.Failures) != 1 || aws.ToString(out.Failures[0].Reason) != "MISSING" {
		t.Errorf("describe unknown service: %v %+v, want a MISSING failure", err, out)
	}
	_, err = c.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String("sim-errors"), Service: aws.String("sim-errors"), TaskDefinition: aws.String("sim-errors:99")})
	var ipe *types.InvalidParameterException
	if !errors.As(err, &ipe) {
		t.Errorf("update to unknown task definition: %v, want InvalidParameterException", err)
	}
}

// TestTimingModel: with a timing model, a rollout completes when its tasks
// have started, and a crashing build fails a task every attempt until the
// breaker's threshold, as ECS does, not at a fixed time.
func TestTimingModel(t *testing.T) {
	t.Parallel()
	timing := ecssim.Timing{Placement: 10 * time.Second, Pull: 15 * time.Second, Start: 5 * time.Second, BreakerThreshold: 3}
	c, sim, clk := setup(t, "sim-timing", true, true, ecssim.WithTiming(timing))
	clk.add(20 * time.Second) // the first rollout: 30 s to run its tasks
	if s := describe(t, c, "sim-timing"); s.Deployments[0].RolloutState != types.DeploymentRolloutStateCompleted {
		t.Fatalf("first rollout %s after 31 s, want COMPLETED at 30 s", s.Deployments[0].RolloutState)
	}
	sim.SetScenario("bad", ecssim.Scenario{Outcome: ecssim.Fail, ExitCode: aws.Int32(1)})
	if _, err := c.UpdateService(context.Background(), &ecs.UpdateServiceInput{Cluster: aws.String("sim-timing"), Service: aws.String("sim-timing"), TaskDefinition: aws.String("sim-timing:2")}); err != nil {
		t.Fatal(err)
	}
	for i, want := range []struct {
		failed int32
		state  types.DeploymentRolloutState
	}{{2, types.DeploymentRolloutStateInProgress}, {4, types.DeploymentRolloutStateInProgress}, {6, types.DeploymentRolloutStateFailed}} {
		clk.add(30 * time.Second)
		var bad *types.Deployment
		s := describe(t, c, "sim-timing")
		for j := range s.Deployments {
			if strings.HasSuffix(aws.ToString(s.Deployments[j].TaskDefinition), ":2") {
				bad = &s.Deployments[j]
			}
		}
		if bad == nil || bad.FailedTasks != want.failed || bad.RolloutState != want.state {
			t.Fatalf("attempt %d: deployment %+v, want %d failed tasks (2 desired) and %s", i+1, bad, want.failed, want.state)
		}
	}
}
