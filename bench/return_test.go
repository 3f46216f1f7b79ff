package bench

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/smithy-go/middleware"

	"github.com/autonote/deploy-action/internal/ecsdeploy"
	"github.com/autonote/deploy-action/internal/ecssim"
	"github.com/autonote/deploy-action/internal/testbed"
)

// returnClock records, on an ECS client, when the return after a failed
// check began (the first call of want after the deploy's own update) and
// the calls made from then on.
type returnClock struct {
	mu      sync.Mutex
	want    string // the call that starts the return
	updates int
	began   time.Time
	calls   map[string]int
}

func (c *returnClock) client(bed *testbed.Bed) *ecs.Client {
	return bed.ECS(func(o *ecs.Options) {
		o.APIOptions = append(o.APIOptions, func(st *middleware.Stack) error {
			return st.Initialize.Add(middleware.InitializeMiddlewareFunc("return-clock", func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
				op := awsmiddleware.GetOperationName(ctx)
				c.mu.Lock()
				if op == "UpdateService" {
					c.updates++
				}
				if c.began.IsZero() && op == c.want && (op != "UpdateService" || c.updates == 2) {
					c.began = time.Now()
				}
				if !c.began.IsZero() {
					c.calls[op]++
				}
				c.mu.Unlock()
				return next.HandleInitialize(ctx, in)
			}), middleware.Before)
		})
	})
}

// BenchmarkReturnAfterAFailedCheck: model seconds from the failed check of
// a build to all production traffic on the last good revision, with the
// calls the return makes: a rolling service (the smoke check fails once the
// rollout completed; the return is a deployment of the old revision, its
// tasks started, checked and drained on the deploy-time model) against a
// blue/green one failing its check during the bake (StopServiceDeployment:
// the old tasks never stopped), in one run on the same simulated timings.
func BenchmarkReturnAfterAFailedCheck(b *testing.B) {
	for _, way := range []struct {
		name      string
		blueGreen bool
		starts    string // the call that starts the return
	}{{"rolling", false, "UpdateService"}, {"blue-green-during-bake", true, "StopServiceDeployment"}} {
		b.Run(way.name, func(b *testing.B) {
			bed, target := setupWith(b, func(bed *testbed.Bed, svc *testbed.Service) {
				svc.LoadBalanced, svc.BlueGreen = true, way.blueGreen
				svc.Containers[0].PortMappings = []types.PortMapping{{ContainerPort: aws.Int32(3000)}}
			})
			if err := bed.Sim.SetTiming(modelTiming(5*time.Second, 10*time.Second)); err != nil {
				b.Fatal(err)
			}
			// The build answers 500 wherever production reaches it, and 200
			// through the test listener: a failure only production shows.
			app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				_, port, _ := net.SplitHostPort(r.Host)
				if port == strconv.Itoa(testbed.TestPort) {
					return
				}
				if _, share := bed.Sim.Traffic(target.Service); way.blueGreen && share == 0 {
					return // blue
				}
				w.WriteHeader(http.StatusInternalServerError)
			}))
			defer app.Close()
			dialer := &net.Dialer{Timeout: 2 * time.Second}
			tr := &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
				return dialer.DialContext(ctx, network, app.Listener.Addr().String())
			}}
			var took []time.Duration
			var calls map[string]int
			for i := 0; b.Loop(); i++ {
				image := fmt.Sprintf("registry.local/autonote/server:fails-check-%s-%d", way.name, i)
				// A model rollout of 2 minutes for the shift's stages.
				bed.Sim.SetScenario(image, ecssim.Scenario{Outcome: ecssim.Complete, After: scaled(2 * time.Minute)})
				clock := &returnClock{want: way.starts, calls: map[string]int{}}
				d, err := ecsdeploy.New(clock.client(bed), ecsdeploy.WithPolling(ecsdeploy.Polling{Fast: scaled(time.Second), Average: scaled(2 * time.Second), Slow: scaled(4 * time.Second)}),
					ecsdeploy.WithLoadBalancers(bed.ELB()))
				if err != nil {
					b.Fatal(err)
				}
				res, _ := d.Deploy(context.Background(), ecsdeploy.Request{Target: target, Image: image, Wait: true, Timeout: scaled(30 * time.Minute), RollbackOnFailure: true,
					Smoke: &ecsdeploy.Smoke{Path: "/health", Timeout: scaled(10 * time.Second), Transport: tr}})
				end := time.Now()
				if res.Status != ecsdeploy.StatusRolledBack || clock.began.IsZero() {
					b.Fatalf("%s: %s, the return began %v: want a return after the failed check", way.name, res.Status, clock.began)
				}
				took = append(took, end.Sub(clock.began)*scale)
				calls = clock.calls
				waitStable(b, bed, target.Service)
			}
			b.ReportMetric(median(took).Seconds(), "model-s-to-old-revision")
			b.Logf("%s: all production back on the old revision %.1f model seconds after the failed check (median of %d); the return's calls: %v",
				way.name, median(took).Seconds(), len(took), calls)
		})
	}
}
