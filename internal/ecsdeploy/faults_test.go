package ecsdeploy_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/autonote/deploy-action/internal/ecsdeploy"
	"github.com/autonote/deploy-action/internal/ecssim"
)

// faultProxy passes requests to the simulator but answers a share of them
// with a 5xx, a throttling error, or a dropped connection.
type faultProxy struct {
	next  http.Handler
	share float64
	mu    sync.Mutex
	rnd   *rand.Rand
	count map[string]int
}

func (p *faultProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	roll, kind := p.rnd.Float64(), p.rnd.IntN(4)
	if roll < p.share {
		p.count[[]string{"5xx", "throttle", "drop", "drop-after"}[kind]]++
	}
	p.mu.Unlock()
	if roll >= p.share {
		p.next.ServeHTTP(w, r)
		return
	}
	switch kind {
	case 0:
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprint(w, `{"__type":"ServerException","message":"injected"}`)
	case 1:
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprint(w, `{"__type":"ThrottlingException","message":"Rate exceeded"}`)
	case 2:
		hijackAndClose(w)
	case 3:
		// The request lands, the answer is lost.
		rec := httptest.NewRecorder()
		p.next.ServeHTTP(rec, r)
		hijackAndClose(w)
	}
}

func hijackAndClose(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err == nil {
		conn.Close()
	}
}

func TestDeployThroughFaultsEndsStable(t *testing.T) {
	t.Parallel()
	f := newFixture(t, fixtureOpts{circuitBreaker: true})
	f.bed.Sim.SetScenario(":broken", ecssim.Scenario{Outcome: ecssim.Fail, StoppedReason: "CannotPullContainerError: not found"})
	sim, _ := url.Parse(f.bed.ECSURL)
	proxy := &faultProxy{next: httputil.NewSingleHostReverseProxy(sim), share: 0.2, rnd: rand.New(rand.NewPCG(1, 2)), count: map[string]int{}}
	srv := httptest.NewServer(proxy)
	defer srv.Close()

	client := f.bed.ECS(func(o *ecs.Options) {
		o.BaseEndpoint = aws.String(srv.URL)
		o.Retryer = retry.NewStandard(func(so *retry.StandardOptions) {
			so.MaxAttempts = 5
			so.RateLimiter = ratelimit.None
			so.Backoff = retry.NewExponentialJitterBackoff(20 * time.Millisecond)
		})
	})
	d, err := ecsdeploy.New(client, ecsdeploy.WithPolling(fastPolling))
	if err != nil {
		t.Fatal(err)
	}
	for i, tag := range []string{"v1", "broken-1", "v2", "v3", "broken-2", "v4", "broken-3", "v5"} {
		before := aws.ToString(f.service(t).TaskDefinition)
		res, err := d.Deploy(context.Background(), f.request(f.image(tag)))
		svc := f.waitStable(t)
		now := aws.ToString(svc.TaskDefinition)
		t.Logf("deploy %d (%s): %s, err=%v", i, tag, res.Status, err)
		if now != res.TaskDefinitionARN {
			t.Errorf("deploy %d (%s): service runs %s, result says %s", i, tag, now, res.TaskDefinitionARN)
		}
		switch res.Status {
		case ecsdeploy.StatusSucceeded:
			if got := f.imageOf(t, now); got != f.image(tag) {
				t.Errorf("deploy %d: succeeded but runs %s", i, got)
			}
		case ecsdeploy.StatusRolledBack, ecsdeploy.StatusFailed:
			if now != before {
				t.Errorf("deploy %d (%s): %s but the service moved from %s to %s", i, tag, res.Status, before, now)
			}
			if err == nil {
				t.Errorf("deploy %d: %s without an error", i, res.Status)
			}
		default:
			t.Errorf("deploy %d: status %q", i, res.Status)
		}
		if svc.Deployments[0].RolloutState != types.DeploymentRolloutStateCompleted {
			t.Errorf("deploy %d: left the service %s", i, svc.Deployments[0].RolloutState)
		}
	}
	t.Logf("faults injected: %v", proxy.count)
	if len(proxy.count) < 3 {
		t.Errorf("faults injected: %v, want every kind", proxy.count)
	}
}
