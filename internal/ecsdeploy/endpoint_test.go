package ecsdeploy_test

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"

	"github.com/autonote/deploy-action/internal/ecsdeploy"
	"github.com/autonote/deploy-action/internal/ecssim"
	"github.com/autonote/deploy-action/internal/testbed"
)

// TestBehindLoadBalancer: a service behind a load balancer answers at the
// load balancer's name; its tasks are registered in the target group as
// they run; tasks that fail the health checks fail the rollout, which is
// rolled back.
func TestBehindLoadBalancer(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newFixture(t, fixtureOpts{loadBalanced: true, circuitBreaker: true, rollback: true})
	f.bed.Sim.SetScenario(":sick", ecssim.Scenario{Unhealthy: true})
	lbs := elb.NewFromConfig(f.bed.Config())
	targets := func() []string {
		t.Helper()
		svc := f.service(t) // the simulator syncs the target group on each request
		out, err := lbs.DescribeTargetHealth(ctx, &elb.DescribeTargetHealthInput{TargetGroupArn: svc.LoadBalancers[0].TargetGroupArn})
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, d := range out.TargetHealthDescriptions {
			ids = append(ids, aws.ToString(d.Target.Id)+" "+string(d.TargetHealth.State))
		}
		return ids
	}
	before := targets()
	if len(before) != 1 {
		t.Fatalf("targets before the deploy = %v, want the first task's", before)
	}

	log := &testbed.SyncBuffer{}
	d, err := ecsdeploy.New(f.bed.ECS(), ecsdeploy.WithPolling(fastPolling), ecsdeploy.WithEC2(f.bed.EC2()),
		ecsdeploy.WithLoadBalancers(lbs), ecsdeploy.WithLogger(slog.New(slog.NewTextHandler(log, nil))))
	if err != nil {
		t.Fatal(err)
	}
	res, err := d.Deploy(ctx, f.request(f.image("lb-good")))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(log.String(), "ECS completes the deployment once the new tasks pass its health check") {
		t.Errorf("the watch does not say it waits for the health check:\n%s", log.String())
	}
	if !res.LoadBalanced || !strings.HasPrefix(res.URL, "http://") || !strings.Contains(res.URL, "-alb") {
		t.Errorf("url = %q (load balanced %v), want the load balancer's name", res.URL, res.LoadBalanced)
	}
	if after := targets(); len(after) != 1 || after[0] == before[0] || !strings.HasSuffix(after[0], " healthy") {
		t.Errorf("targets after the deploy = %v, want the new task's alone (was %v)", after, before)
	}
	st, err := f.deployer.Status(ctx, f.target)
	if err != nil || st.URL != res.URL {
		t.Errorf("status url = %q (%v), want %q", st.URL, err, res.URL)
	}

	good := targets()
	res, err = f.deployer.Deploy(ctx, f.request(f.image("sick")))
	var rf *ecsdeploy.RolloutFailedError
	if !errors.As(err, &rf) || res.Status != ecsdeploy.StatusRolledBack || !strings.Contains(err.Error(), "Task failed ELB health checks in (target-group ") {
		t.Fatalf("deploy of tasks that fail the health checks: %v (status %s), want rolled back with ECS's reason", err, res.Status)
	}
	f.waitStable(t)
	got := targets()
	if !slices.Contains(got, good[0]) {
		t.Errorf("targets after the rollback = %v, want %v among them", got, good)
	}
	// Every target is a running task of the revision returned to.
	list, err := f.bed.ECS().ListTasks(ctx, &ecs.ListTasksInput{Cluster: aws.String(f.target.Cluster), ServiceName: aws.String(f.target.Service)})
	if err != nil {
		t.Fatal(err)
	}
	tasks, err := f.bed.ECS().DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String(f.target.Cluster), Tasks: list.TaskArns})
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, task := range tasks.Tasks {
		for _, a := range task.Attachments {
			for _, d := range a.Details {
				if aws.ToString(d.Name) == "privateIPv4Address" && aws.ToString(task.TaskDefinitionArn) == res.TaskDefinitionARN {
					want = append(want, aws.ToString(d.Value)+" healthy")
				}
			}
		}
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("targets after the rollback = %v, want the running tasks of %s: %v", got, res.TaskDefinitionARN, want)
	}
}
