package bench

import (
	"context"
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
		return setupWith(b, func(bed *testbed.Bed, svc *testbed.Service) {
			bed.Sim.SetScenario("autonote/server", ecssim.Scenario{Address: "192.0.2.9"})
			svc.Public, svc.CircuitBreaker, svc.Rollback = true, false, false
			svc.Containers[0].Image = aws.String("registry.local/autonote/server:0123abcd0123abcd0123abcd0123abcd0123abcd")
			svc.Containers[0].PortMappings = []types.PortMapping{{ContainerPort: aws.Int32(3000)}}
		})
	}
	b.Run("engine", func(b *testing.B) {
		bed, target := public(b)
		d, err := ecsdeploy.New(bed.ECS(), ecsdeploy.WithEC2(bed.EC2()))
		if err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			st, err := d.Status(context.Background(), target)
			if err != nil || st.URL != "http://192.0.2.9:3000" {
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
			if ip := cli("ec2", "describe-network-interfaces", "--network-interface-ids", eni, "--query", "NetworkInterfaces[0].Association.PublicIp"); ip != "192.0.2.9" {
				b.Fatalf("public ip %q", ip)
			}
		}
	})
}
