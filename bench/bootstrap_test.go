package bench

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"testing"

	"github.com/autonote/deploy-action/internal/bootstrap"
	"github.com/autonote/deploy-action/internal/testbed"
)

var stackSeq int

func bootstrapStack(b *testing.B, bed *testbed.Bed, name string, calls *bootstrap.Calls) *bootstrap.Stack {
	cfg := bootstrap.Named(name)
	cfg.Region = testbed.Region
	c := bed.Config()
	c.APIOptions = append(c.APIOptions, calls.APIOption)
	s, err := bootstrap.New(bootstrap.NewClients(c, bed.Getenv), cfg)
	if err != nil {
		b.Fatal(err)
	}
	return s
}

// BenchmarkBootstrapApply: a fresh apply of the whole baseline against
// moto, next to the same resources made by a sequential aws CLI script
// against the same moto, in one run; and a re-run's mutating calls.
func BenchmarkBootstrapApply(b *testing.B) {
	bed, _ := setup(b)
	b.Run("deploy-action", func(b *testing.B) {
		var total, rerun int
		for b.Loop() {
			stackSeq++
			name := fmt.Sprintf("b%d", stackSeq)
			calls := bootstrap.NewCalls(0)
			if _, err := bootstrapStack(b, bed, name, calls).Apply(context.Background(), nil); err != nil {
				b.Fatal(err)
			}
			total += calls.Total()
			b.StopTimer()
			again := bootstrap.NewCalls(0)
			if _, err := bootstrapStack(b, bed, name, again).Apply(context.Background(), nil); err != nil {
				b.Fatal(err)
			}
			rerun += again.Mutating()
			b.StartTimer()
		}
		b.ReportMetric(float64(total)/float64(b.N), "calls/apply")
		b.ReportMetric(float64(rerun)/float64(b.N), "mutating-calls/re-run")
	})
	b.Run("aws-cli", func(b *testing.B) {
		if _, err := exec.LookPath("aws"); err != nil {
			b.Skip("aws CLI not found")
		}
		env := os.Environ()
		for k, v := range bed.Env() {
			env = append(env, k+"="+v)
		}
		for b.Loop() {
			stackSeq++
			cmd := exec.Command("bash", "bootstrap-cli.sh", fmt.Sprintf("c%d", stackSeq))
			cmd.Env = env
			if out, err := cmd.CombinedOutput(); err != nil {
				b.Fatalf("bootstrap-cli.sh: %v\n%s", err, out)
			}
		}
		b.ReportMetric(33, "calls/apply") // the script's aws invocations
	})
}

// BenchmarkBootstrapAdopt: plan and apply on a stack a person made in the
// console (no tags of ours, the service running), next to a fresh apply of
// the whole baseline in the same run. It reports the calls each makes and
// how many of them change something: adopting changes nothing.
func BenchmarkBootstrapAdopt(b *testing.B) {
	bed, _ := setup(b)
	for _, mode := range []string{"adopt-console-stack", "fresh-apply"} {
		b.Run(mode, func(b *testing.B) {
			var total, mutating, changes int
			for b.Loop() {
				b.StopTimer()
				stackSeq++
				name := fmt.Sprintf("a%d", stackSeq)
				cfg := bootstrap.Named(name)
				if mode == "adopt-console-stack" {
					bed.ConsoleStack(b, testbed.ConsoleNames{Name: name, ExecutionRole: cfg.ExecutionRole, Repository: cfg.ECRRepository,
						LogGroup: cfg.LogGroup, Cluster: cfg.Cluster, Family: cfg.Family, Service: cfg.Service, Container: cfg.Container}, "console")
				}
				calls := bootstrap.NewCalls(0)
				b.StartTimer()
				steps, err := bootstrapStack(b, bed, name, calls).Plan(context.Background())
				if err != nil {
					b.Fatal(err)
				}
				if _, err := bootstrapStack(b, bed, name, calls).Apply(context.Background(), nil); err != nil {
					b.Fatal(err)
				}
				total, mutating, changes = total+calls.Total(), mutating+calls.Mutating(), changes+bootstrap.Changes(steps)
			}
			b.ReportMetric(float64(total)/float64(b.N), "calls/plan+apply")
			b.ReportMetric(float64(mutating)/float64(b.N), "mutating-calls/apply")
			b.ReportMetric(float64(changes)/float64(b.N), "planned-changes")
		})
	}
}
