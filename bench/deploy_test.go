// Package bench measures the deploy engine against its peers on the local
// test bed. Run it with bench/run.sh; it is not part of make test.
package bench

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/autonote/deploy-action/internal/ecsdeploy"
	"github.com/autonote/deploy-action/internal/ecssim"
	"github.com/autonote/deploy-action/internal/testbed"
)

var (
	motoOnce sync.Once
	moto     *testbed.Moto
	motoErr  error
	seq      int
)

// rollout is how long a simulated rollout takes: long enough for the
// pacing to matter, short enough for a run of a few minutes, and not a
// multiple of any poll interval, so no watcher lands on it by luck.
const rollout = 4700 * time.Millisecond

func setup(b *testing.B) (*testbed.Bed, ecsdeploy.Target) {
	b.Helper()
	return setupWith(b, func(*testbed.Bed, *testbed.Service) {})
}

// setupWith seeds a service that edit may change first (its scenario on
// the bed, its network, its containers).
func setupWith(b *testing.B, edit func(*testbed.Bed, *testbed.Service)) (*testbed.Bed, ecsdeploy.Target) {
	b.Helper()
	motoOnce.Do(func() { moto, motoErr = testbed.StartMoto(context.Background()) })
	if motoErr != nil {
		b.Fatal(motoErr)
	}
	bed := testbed.New(b, moto, ecssim.WithDuration(rollout))
	seq++
	name := fmt.Sprintf("bench-%d", seq)
	svc := testbed.Service{
		Cluster: name, Service: name, Family: name, DesiredCount: 1, CircuitBreaker: true, Rollback: true,
		Containers: []types.ContainerDefinition{{Name: aws.String("server"), Image: aws.String("registry.local/autonote/server:0"), Essential: aws.Bool(true)}},
	}
	edit(bed, &svc)
	if _, err := bed.Seed(context.Background(), svc); err != nil {
		b.Fatal(err)
	}
	waitStable(b, bed, name)
	bed.Sim.ResetCalls()
	return bed, ecsdeploy.Target{Cluster: name, Service: name}
}

func waitStable(b *testing.B, bed *testbed.Bed, name string) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := bed.WaitStable(ctx, name, name); err != nil {
		b.Fatal(err)
	}
}

func median(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}

// detectionRollouts are the rollout lengths the detection benchmark
// cycles through, so that no pacing is measured on one lucky length.
var detectionRollouts = [...]time.Duration{3300 * time.Millisecond, 4700 * time.Millisecond, 6100 * time.Millisecond, 7900 * time.Millisecond, 9700 * time.Millisecond}

// BenchmarkDetectionLatency: time from the simulator marking the deployment
// COMPLETED to the watcher returning, for the engine's watch (with today's
// pacing, and with the pacing before it) and for the SDK's
// ServicesStableWaiter with its defaults, on the same simulator and the
// same rollout lengths.
func BenchmarkDetectionLatency(b *testing.B) {
	engine := func(opts ...ecsdeploy.Option) func(b *testing.B) {
		return func(b *testing.B) {
			bed, target := setup(b)
			d, err := ecsdeploy.New(bed.ECS(), opts...)
			if err != nil {
				b.Fatal(err)
			}
			var lat []time.Duration
			for i := 0; b.Loop(); i++ {
				tag := fmt.Sprintf("e%dx", i+1)
				bed.Sim.SetScenario(":"+tag, ecssim.Scenario{After: detectionRollouts[i%len(detectionRollouts)]})
				res, err := d.Deploy(context.Background(), ecsdeploy.Request{Target: target, Image: "registry.local/autonote/server:" + tag, Wait: true, Timeout: time.Minute})
				if err != nil {
					b.Fatal(err)
				}
				done, ok := bed.Sim.CompletedAt(res.DeploymentID)
				if !ok {
					b.Fatal("deployment not completed")
				}
				lat = append(lat, res.End.Sub(done))
			}
			b.ReportMetric(float64(median(lat).Milliseconds()), "ms-median-latency")
			calls := bed.Sim.Calls()["DescribeServices"]
			b.ReportMetric(float64(calls)/float64(b.N), "DescribeServices/deploy")
		}
	}
	b.Run("engine", engine())
	b.Run("engine-slow-3s-before", engine(ecsdeploy.WithPolling(ecsdeploy.Polling{Fast: time.Second, Average: 2 * time.Second, Slow: 3 * time.Second})))
	b.Run("ServicesStableWaiter", func(b *testing.B) {
		bed, target := setup(b)
		client := bed.ECS()
		var lat []time.Duration
		for i := 0; b.Loop(); i++ {
			ctx := context.Background()
			tag := fmt.Sprintf("w%dx", i)
			bed.Sim.SetScenario(":"+tag, ecssim.Scenario{After: detectionRollouts[i%len(detectionRollouts)]})
			td, err := client.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{
				Family: aws.String(target.Service), RequiresCompatibilities: []types.Compatibility{types.CompatibilityFargate},
				NetworkMode: types.NetworkModeAwsvpc, Cpu: aws.String("256"), Memory: aws.String("512"),
				ContainerDefinitions: []types.ContainerDefinition{{Name: aws.String("server"), Image: aws.String("registry.local/autonote/server:" + tag)}},
			})
			if err != nil {
				b.Fatal(err)
			}
			up, err := client.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String(target.Cluster), Service: aws.String(target.Service), TaskDefinition: td.TaskDefinition.TaskDefinitionArn})
			if err != nil {
				b.Fatal(err)
			}
			id := aws.ToString(up.Service.Deployments[0].Id)
			w := ecs.NewServicesStableWaiter(client)
			if err := w.Wait(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(target.Cluster), Services: []string{target.Service}}, time.Minute); err != nil {
				b.Fatal(err)
			}
			end := time.Now()
			done, ok := bed.Sim.CompletedAt(id)
			if !ok {
				b.Fatal("deployment not completed")
			}
			lat = append(lat, end.Sub(done))
		}
		b.ReportMetric(float64(median(lat).Milliseconds()), "ms-median-latency")
		calls := bed.Sim.Calls()["DescribeServices"]
		b.ReportMetric(float64(calls)/float64(b.N), "DescribeServices/deploy")
	})
}

// BenchmarkCallsPerDeploy reports the ECS API calls one watched deploy
// makes, by operation.
func BenchmarkCallsPerDeploy(b *testing.B) {
	bed, target := setup(b)
	d, err := ecsdeploy.New(bed.ECS())
	if err != nil {
		b.Fatal(err)
	}
	for i := 0; b.Loop(); i++ {
		if _, err := d.Deploy(context.Background(), ecsdeploy.Request{Target: target, Image: fmt.Sprintf("registry.local/autonote/server:c%d", i), Wait: true, Timeout: time.Minute}); err != nil {
			b.Fatal(err)
		}
	}
	for op, n := range bed.Sim.Calls() {
		b.ReportMetric(float64(n)/float64(b.N), op+"/deploy")
	}
}

// BenchmarkNoWaitDeploy compares a whole no-wait deploy by the engine with
// the seed's manual way, three aws CLI calls, against the same moto and
// simulator.
func BenchmarkNoWaitDeploy(b *testing.B) {
	b.Run("engine", func(b *testing.B) {
		bed, target := setup(b)
		d, err := ecsdeploy.New(bed.ECS())
		if err != nil {
			b.Fatal(err)
		}
		for i := 0; b.Loop(); i++ {
			if _, err := d.Deploy(context.Background(), ecsdeploy.Request{Target: target, Image: fmt.Sprintf("registry.local/autonote/server:n%d", i)}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("aws-cli", func(b *testing.B) {
		bed, target := setup(b)
		env := os.Environ()
		for k, v := range bed.Env() {
			env = append(env, k+"="+v)
		}
		aws := func(args ...string) string {
			cmd := exec.Command("aws", args...)
			cmd.Env = env
			out, err := cmd.Output()
			if err != nil {
				b.Fatalf("aws %s: %v", strings.Join(args, " "), err)
			}
			return strings.TrimSpace(string(out))
		}
		for i := 0; b.Loop(); i++ {
			// The seed's steps: take the running definition, change the
			// image, register it, point the service at it.
			td := aws("ecs", "describe-task-definition", "--task-definition", target.Service,
				"--query", "taskDefinition.{family:family,containerDefinitions:containerDefinitions,cpu:cpu,memory:memory,networkMode:networkMode,requiresCompatibilities:requiresCompatibilities}")
			td = strings.Replace(td, `"image": "`, fmt.Sprintf(`"image": "registry.local/autonote/server:cli%d-`, i), 1)
			arn := aws("ecs", "register-task-definition", "--cli-input-json", td, "--query", "taskDefinition.taskDefinitionArn", "--output", "text")
			aws("ecs", "update-service", "--cluster", target.Cluster, "--service", target.Service, "--task-definition", arn, "--query", "service.serviceName")
		}
	})
}
