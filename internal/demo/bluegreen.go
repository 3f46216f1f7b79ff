package demo

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"sync/atomic"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/acm"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"

	"github.com/autonote/deploy-action/internal/bootstrap"
	"github.com/autonote/deploy-action/internal/testbed"
)

// domain is the name on the demo's certificate: the name users call.
const domain = "api.autonote.example"

// loadBalancer stands in for the Application Load Balancer on loopback,
// over HTTPS with a certificate made for the demo: it sends a request
// that carries the test rule's header to the new (green) tasks while ECS
// (the simulator) has the test traffic on them, and production to green
// for the share the simulator has shifted, else to the old (blue) tasks,
// the API. It counts the production requests green answered.
type loadBalancer struct {
	bed *testbed.Bed
	api http.Handler
	srv *httptest.Server
	// hosts routes the tasks' public address (apiHost) to the API and,
	// once it exists, the load balancer's name in moto to this listener.
	hosts testbed.Hosts
	pool  *x509.CertPool
	cert  tls.Certificate
	test  atomic.Pointer[string] // the test rule's header value
	// green is what the new build answers /health with: 0, the API.
	green                    atomic.Int32
	viaTest, productionGreen atomic.Int64
}

func newLoadBalancer(bed *testbed.Bed, api http.Handler, apiAddr string) (*loadBalancer, error) {
	l := &loadBalancer{bed: bed, api: api}
	l.hosts.Route(apiHost, apiAddr)
	var err error
	if l.cert, l.pool, err = testbed.Certificate(domain); err != nil {
		return nil, err
	}
	l.srv = httptest.NewUnstartedServer(l)
	l.srv.TLS = &tls.Config{Certificates: []tls.Certificate{l.cert}, MinVersion: tls.VersionTLS12}
	l.srv.StartTLS()
	return l, nil
}

func (l *loadBalancer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	test, share := l.bed.Sim.Traffic(service)
	value := l.test.Load()
	viaTest := value != nil && r.Header.Get(bootstrap.TestHeader) == *value
	green := viaTest && test || !viaTest && share > 0 && rand.IntN(100) < share
	if !green {
		l.api.ServeHTTP(w, r)
		return
	}
	if viaTest {
		l.viaTest.Add(1)
	} else {
		l.productionGreen.Add(1)
	}
	if code := l.green.Load(); code != 0 {
		http.Error(w, `{"statusCode":500,"message":"Internal server error"}`, int(code))
		return
	}
	l.api.ServeHTTP(w, r)
}

// Transport is the smoke check's: in the demo's own dialer (never the
// machine's), the load balancer's name in moto resolves to this listener
// and the tasks' public address to the API; nothing else is reached. The
// demo's certificate is trusted.
func (l *loadBalancer) Transport() *http.Transport {
	tr := l.hosts.Transport()
	tr.TLSClientConfig, tr.ForceAttemptHTTP2 = &tls.Config{RootCAs: l.pool, MinVersion: tls.VersionTLS12}, true
	return tr
}

func (l *loadBalancer) Close() { l.srv.Close() }

// moveToBlueGreen imports the demo's certificate into ACM and applies
// the baseline again, behind HTTPS with its domain and with
// deployment-strategy: blue-green and smoke-path: it prints what the plan
// adds and points the demo's load balancer at what the bootstrap made.
func moveToBlueGreen(ctx context.Context, stdout io.Writer, bed *testbed.Bed, l *loadBalancer) error {
	key, err := x509.MarshalPKCS8PrivateKey(l.cert.PrivateKey)
	if err != nil {
		return err
	}
	cert, err := acm.NewFromConfig(bed.Config()).ImportCertificate(ctx, &acm.ImportCertificateInput{
		Certificate: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: l.cert.Certificate[0]}),
		PrivateKey:  pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: key}),
	})
	if err != nil {
		return fmt.Errorf("import the demo's certificate into ACM: %w", err)
	}
	o, err := reapply(ctx, stdout, bed, func(c *bootstrap.Config) {
		c.CertificateARN, c.Domain = aws.ToString(cert.CertificateArn), domain
		c.DeploymentStrategy, c.SmokePath, c.BakeTime = bootstrap.StrategyBlueGreen, "/health", 1
	})
	if err != nil {
		return err
	}
	rules, err := elb.NewFromConfig(bed.Config()).DescribeRules(ctx, &elb.DescribeRulesInput{RuleArns: []string{o.TestRuleARN}})
	if err != nil || len(rules.Rules) == 0 || len(rules.Rules[0].Conditions) == 0 || rules.Rules[0].Conditions[0].HttpHeaderConfig == nil {
		return fmt.Errorf("read the test rule %s: %v", o.TestRuleARN, err)
	}
	l.test.Store(&rules.Rules[0].Conditions[0].HttpHeaderConfig.Values[0])
	l.hosts.Route(o.LoadBalancerDNS, l.srv.Listener.Addr().String())
	fmt.Fprintf(stdout, "  users call https://%s (the certificate's name) on %s; a deploy's new tasks answer the test rule (%s) first\n", domain, o.LoadBalancerDNS, bootstrap.TestHeader)
	return nil
}

// greenAnswers sets what the next build answers, and reports afterwards
// how many production requests reached it.
func (l *loadBalancer) greenAnswers(code int) func(context.Context) error {
	return func(context.Context) error {
		l.green.Store(int32(code))
		l.viaTest.Store(0)
		l.productionGreen.Store(0)
		return nil
	}
}

// report says what reached the new build: through the test rule, and
// through production; with noProduction, a production request that
// reached it is an error.
func (l *loadBalancer) report(stdout io.Writer, noProduction bool) func(context.Context) error {
	return func(context.Context) error {
		fmt.Fprintf(stdout, "  requests the new build answered: %d through the test rule, %d from users (production)\n", l.viaTest.Load(), l.productionGreen.Load())
		if noProduction && l.productionGreen.Load() > 0 {
			return fmt.Errorf("%d production requests reached a build that failed its check", l.productionGreen.Load())
		}
		return nil
	}
}
