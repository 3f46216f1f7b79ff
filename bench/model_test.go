package bench

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/autonote/deploy-action/internal/ecsdeploy"
	"github.com/autonote/deploy-action/internal/ecssim"
	"github.com/autonote/deploy-action/internal/testbed"
)

// scale is how much faster than ECS the model runs: a model minute is
// 1.2 s of the benchmark. Every duration below, the watch's pacing and the
// waiter's delays included, is divided by it.
const scale = 50

func scaled(d time.Duration) time.Duration { return d / scale }

// modelTiming is the deploy-time model: a task's way to running on Fargate
// (placement with its network interface 20 s, the pull of a ~150 MB Node
// image from ECR in the region 15 s, the NestJS start 5 s), the target
// group's health check (interval, 2 in a row), its deregistration delay,
// and ECS's circuit breaker at 3 failed tasks (one desired task).
func modelTiming(healthInterval, deregistration time.Duration) ecssim.Timing {
	return ecssim.Timing{
		Placement: scaled(20 * time.Second), Pull: scaled(15 * time.Second), Start: scaled(5 * time.Second),
		HealthCheckInterval: scaled(healthInterval), HealthyThreshold: 2,
		Deregistration: scaled(deregistration), BreakerThreshold: 3,
	}
}

// way is one way to run a deploy and wait for its verdict.
type way struct {
	name                           string
	healthInterval, deregistration time.Duration
	run                            func(ctx context.Context, b *testing.B, bed *testbed.Bed, target ecsdeploy.Target, image string) string
}

// engine deploys with the engine at a scaled pace and fail-after.
func engine(failAfter int, slow time.Duration) func(context.Context, *testing.B, *testbed.Bed, ecsdeploy.Target, string) string {
	return func(ctx context.Context, b *testing.B, bed *testbed.Bed, target ecsdeploy.Target, image string) string {
		d, err := ecsdeploy.New(bed.ECS(), ecsdeploy.WithPolling(ecsdeploy.Polling{Fast: scaled(time.Second), Average: scaled(2 * time.Second), Slow: scaled(slow)}))
		if err != nil {
			b.Fatal(err)
		}
		res, _ := d.Deploy(ctx, ecsdeploy.Request{Target: target, Image: image, Wait: true, Timeout: scaled(30 * time.Minute), RollbackOnFailure: true, FailAfter: failAfter})
		return string(res.Status)
	}
}

// officialWay is what aws-actions/amazon-ecs-deploy-task-definition does
// with wait-for-service-stability: register, update, and the SDK's
// services-stable waiter (its default delays: 15 s to 120 s), leaving a
// failure to ECS's circuit breaker.
func officialWay(ctx context.Context, b *testing.B, bed *testbed.Bed, target ecsdeploy.Target, image string) string {
	c := bed.ECS()
	td, err := c.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{Family: aws.String(target.Service),
		RequiresCompatibilities: []types.Compatibility{types.CompatibilityFargate}, NetworkMode: types.NetworkModeAwsvpc, Cpu: aws.String("256"), Memory: aws.String("512"),
		ContainerDefinitions: []types.ContainerDefinition{{Name: aws.String("server"), Image: aws.String(image), Essential: aws.Bool(true),
			PortMappings: []types.PortMapping{{ContainerPort: aws.Int32(3000)}}}}})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := c.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String(target.Cluster), Service: aws.String(target.Service), TaskDefinition: td.TaskDefinition.TaskDefinitionArn}); err != nil {
		b.Fatal(err)
	}
	w := ecs.NewServicesStableWaiter(c, func(o *ecs.ServicesStableWaiterOptions) {
		o.MinDelay, o.MaxDelay = scaled(15*time.Second), scaled(120*time.Second)
	})
	if err := w.Wait(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(target.Cluster), Services: []string{target.Service}}, scaled(30*time.Minute)); err != nil {
		return "timed out"
	}
	return "stable"
}

// BenchmarkDeployTimeModel: the model's seconds from the update to the
// verdict (live, or back on the last stable revision), for a good build
// and for one that exits 1 at start, three ways in one run: this tool with
// its defaults (fail-after 1, a 5 s health check, a 10 s deregistration
// delay), this tool with the defaults before them (no fail-fast, 15 s and
// 30 s, the watch's earlier pace), and the official action's way on the
// same target group as the tool before.
func BenchmarkDeployTimeModel(b *testing.B) {
	ways := []way{
		{"tool", 5 * time.Second, 10 * time.Second, engine(1, 4*time.Second)},
		{"tool-before", 15 * time.Second, 30 * time.Second, engine(0, 3*time.Second)},
		{"official-way", 15 * time.Second, 30 * time.Second, officialWay},
	}
	for _, build := range []string{"good", "crash"} {
		for _, w := range ways {
			b.Run(build+"/"+w.name, func(b *testing.B) {
				bed, target := setupWith(b, func(bed *testbed.Bed, svc *testbed.Service) {
					svc.LoadBalanced = true
					svc.Containers[0].PortMappings = []types.PortMapping{{ContainerPort: aws.Int32(3000)}}
				})
				if err := bed.Sim.SetTiming(modelTiming(w.healthInterval, w.deregistration)); err != nil {
					b.Fatal(err)
				}
				var took []time.Duration
				var status string
				for i := 0; b.Loop(); i++ {
					image := fmt.Sprintf("registry.local/autonote/server:%s-%s-%d", build, w.name, i)
					if build == "crash" {
						bed.Sim.SetScenario(image, ecssim.Scenario{Outcome: ecssim.Fail, StoppedReason: "Essential container in task exited", ExitCode: aws.Int32(1)})
					}
					start := time.Now()
					status = w.run(context.Background(), b, bed, target, image)
					took = append(took, time.Since(start)*scale)
					waitStable(b, bed, target.Service)
				}
				b.ReportMetric(median(took).Seconds(), "model-s-to-verdict")
				b.Logf("%s, %s: %s after %.0f model seconds (median of %d)", build, w.name, status, median(took).Seconds(), len(took))
			})
		}
	}
}
