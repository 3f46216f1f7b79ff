package bench

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/autonote/deploy-action/internal/ecsdeploy"
	"github.com/autonote/deploy-action/internal/ecssim"
	"github.com/autonote/deploy-action/internal/testbed"
)

// BenchmarkStatus compares what runs now, read by the engine (service,
// revision, image and commit, tasks, the URL, the last five deployments
// with their images, drift) with the seed's manual way to find only where
// the API answers: four aws CLI calls (describe-services, list-tasks,
// describe-tasks, describe-network-interfaces), against the same moto and
// simulator.
func BenchmarkStatus(b *testing.B) {
	public := func(b *testing.B) (*testbed.Bed, ecsdeploy.Target) {
		motoOnce.Do(func() { moto, motoErr = testbed.StartMoto(context.Background()) })
		if motoErr != nil {
			b.Fatal(motoErr)
		}
		bed, err := testbed.Start(moto, ecssim.WithDuration(rollout))
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(bed.Close)
		seq++
		name := fmt.Sprintf("bench-%d", seq)
		bed.Sim.SetScenario("autonote/server", ecssim.Scenario{Address: "127.0.0.9"})
		if _, err := bed.Seed(context.Background(), testbed.Service{
			Cluster: name, Service: name, Family: name, DesiredCount: 1, Public: true,
			Containers: []types.ContainerDefinition{{Name: aws.String("server"), Image: aws.String("registry.local/autonote/server:0123abcd0123abcd0123abcd0123abcd0123abcd"),
				Essential: aws.Bool(true), PortMappings: []types.PortMapping{{ContainerPort: aws.Int32(3000)}}}},
		}); err != nil {
			b.Fatal(err)
		}
		waitStable(b, bed, name)
		bed.Sim.ResetCalls()
		return bed, ecsdeploy.Target{Cluster: name, Service: name}
	}
	b.Run("engine", func(b *testing.B) {
		bed, target := public(b)
		d, err := ecsdeploy.New(bed.ECS(), ecsdeploy.WithEC2(bed.EC2()))
		if err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			st, err := d.Status(context.Background(), target)
			if err != nil || st.URL != "http://127.0.0.9:3000" {
				b.Fatalf("status: %v, url %q", err, st.URL)
			}
		}
		for op, n := range bed.Sim.Calls() {
			b.ReportMetric(float64(n)/float64(b.N), op+"/status")
		}
	})
	b.Run("aws-cli", func(b *testing.B) {
		bed, target := public(b)
		env := os.Environ()
		for k, v := range bed.Env() {
			env = append(env, k+"="+v)
		}
		cli := func(args ...string) string {
			cmd := exec.Command("aws", append(args, "--output", "text")...)
			cmd.Env = env
			out, err := cmd.Output()
			if err != nil {
				b.Fatalf("aws %s: %v", strings.Join(args, " "), err)
			}
			return strings.TrimSpace(string(out))
		}
		for b.Loop() {
			cli("ecs", "describe-services", "--cluster", target.Cluster, "--services", target.Service, "--query", "services[0].taskDefinition")
			task := cli("ecs", "list-tasks", "--cluster", target.Cluster, "--service-name", target.Service, "--query", "taskArns[0]")
			eni := cli("ecs", "describe-tasks", "--cluster", target.Cluster, "--tasks", task,
				"--query", "tasks[0].attachments[0].details[?name=='networkInterfaceId'].value | [0]")
			if ip := cli("ec2", "describe-network-interfaces", "--network-interface-ids", eni, "--query", "NetworkInterfaces[0].Association.PublicIp"); ip != "127.0.0.9" {
				b.Fatalf("public ip %q", ip)
			}
		}
	})
}
