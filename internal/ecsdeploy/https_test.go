package ecsdeploy_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/autonote/deploy-action/internal/ecsdeploy"
	"github.com/autonote/deploy-action/internal/testbed"

	"github.com/autonote/deploy-action/internal/handoff"
)

// certFor makes a self-signed certificate for host and a pool that trusts it.
func certFor(t *testing.T, host string) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	cert, pool, err := testbed.Certificate(host)
	if err != nil {
		t.Fatal(err)
	}
	return cert, pool
}

// TestHTTPS: the smoke check by the endpoint's real name. Behind a load balancer that listens on
// 443 with a certificate for the domain users call, the URL is
// https://<domain>, and the smoke check connects to the load balancer's
// own address (resolved to loopback by this test's dialer, never by the
// machine) with the domain as SNI and Host, and verifies the certificate
// against it: it passes; with a certificate for another host it fails,
// saying so; with no domain named it says plainly it cannot verify. A
// domain tag that is no host name (a port, a user) is refused, and nothing,
// the smoke header least of all, reaches the host it names, though that
// host answers 200 with a certificate the runner trusts.
func TestHTTPS(t *testing.T) {
	t.Parallel()
	const domain = "api.autonote.test"
	tests := []struct {
		name, certHost, domainTag string
		wantOK                    bool
		says                      string
	}{
		{"domain cert", domain, domain, true, ""},
		{"other cert", "other.example", domain, false, "certificate is valid for other.example, not " + domain},
		{"no domain", domain, "", false, "names no domain"},
		{"domain tag with a port", domain, "attacker.test:443", false, `"attacker.test:443" is not a host name`},
		{"domain tag with a user", domain, "x@attacker.test", false, `"x@attacker.test" is not a host name`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			f := newFixture(t, fixtureOpts{loadBalanced: true, circuitBreaker: true, rollback: true})
			lbs := elb.NewFromConfig(f.bed.Config())
			svc := f.service(t)
			tg, err := lbs.DescribeTargetGroups(ctx, &elb.DescribeTargetGroupsInput{TargetGroupArns: []string{aws.ToString(svc.LoadBalancers[0].TargetGroupArn)}})
			if err != nil {
				t.Fatal(err)
			}
			lbARN := tg.TargetGroups[0].LoadBalancerArns[0]
			lb, err := lbs.DescribeLoadBalancers(ctx, &elb.DescribeLoadBalancersInput{LoadBalancerArns: []string{lbARN}})
			if err != nil {
				t.Fatal(err)
			}
			lbDNS := aws.ToString(lb.LoadBalancers[0].DNSName)
			// A certificate in moto's ACM, asked for with the aws CLI (the
			// SDK's ACM client is not a dependency of the code).
			cli := exec.Command("aws", "acm", "request-certificate", "--domain-name", domain, "--output", "json")
			for k, v := range f.bed.Env() {
				cli.Env = append(cli.Env, k+"="+v)
			}
			cli.Env = append(cli.Env, "PATH="+os.Getenv("PATH"), "HOME="+t.TempDir())
			raw, err := cli.Output()
			if err != nil {
				t.Fatalf("aws acm request-certificate: %v", err)
			}
			var certOut struct{ CertificateArn string }
			if err := json.Unmarshal(raw, &certOut); err != nil {
				t.Fatal(err)
			}
			if _, err := lbs.CreateListener(ctx, &elb.CreateListenerInput{LoadBalancerArn: aws.String(lbARN), Port: aws.Int32(443), Protocol: elbtypes.ProtocolEnumHttps,
				Certificates:   []elbtypes.Certificate{{CertificateArn: aws.String(certOut.CertificateArn)}},
				DefaultActions: []elbtypes.Action{{Type: elbtypes.ActionTypeEnumForward, TargetGroupArn: svc.LoadBalancers[0].TargetGroupArn}}}); err != nil {
				t.Fatal(err)
			}
			if tt.domainTag != "" {
				if _, err := lbs.AddTags(ctx, &elb.AddTagsInput{ResourceArns: []string{lbARN}, Tags: []elbtypes.Tag{{Key: aws.String(handoff.DomainTag), Value: aws.String(tt.domainTag)}}}); err != nil {
					t.Fatal(err)
				}
			}
			// The load balancer: a TLS server on loopback with the case's certificate.
			cert, pool := certFor(t, tt.certHost)
			var hosts atomic.Value
			l, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}})
			if err != nil {
				t.Fatal(err)
			}
			srv := &http.Server{ReadHeaderTimeout: time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				hosts.Store(r.Host)
			})}
			go func() { _ = srv.Serve(l) }()
			defer srv.Close()
			// Another host, with a certificate the runner trusts, that
			// answers 200 to anything: nothing may reach it.
			evil, _ := certFor(t, "attacker.test")
			leaf, err := x509.ParseCertificate(evil.Certificate[0])
			if err != nil {
				t.Fatal(err)
			}
			pool.AddCert(leaf)
			var reached atomic.Value
			al, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{evil}})
			if err != nil {
				t.Fatal(err)
			}
			attacker := &http.Server{ReadHeaderTimeout: time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				reached.Store(r.Header.Get("X-Api-Key"))
			})}
			go func() { _ = attacker.Serve(al) }()
			defer attacker.Close()
			// The test's own resolver: the load balancer's made-up name is
			// this server; every other name is refused.
			dialer := &net.Dialer{Timeout: time.Second}
			base := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
				switch host, _, _ := net.SplitHostPort(addr); host {
				case lbDNS:
					return dialer.DialContext(ctx, network, l.Addr().String())
				case "attacker.test":
					return dialer.DialContext(ctx, network, al.Addr().String())
				}
				return nil, &net.DNSError{Err: "not resolved in this test", Name: addr, IsNotFound: true}
			}}
			d, err := ecsdeploy.New(f.bed.ECS(), ecsdeploy.WithPolling(fastPolling), ecsdeploy.WithEC2(f.bed.EC2()), ecsdeploy.WithLoadBalancers(lbs))
			if err != nil {
				t.Fatal(err)
			}
			req := f.request(f.image("tls-" + strings.ReplaceAll(tt.name, " ", "-")))
			req.Smoke = &ecsdeploy.Smoke{Path: "/health", Timeout: 2 * time.Second, Transport: base, Header: "X-API-KEY", HeaderValue: "smoke-secret"}
			res, err := d.Deploy(ctx, req)
			if key, ok := reached.Load().(string); ok {
				t.Errorf("a request reached the host the domain tag names (with the smoke header %q)", key)
			}
			if tt.wantOK {
				if err != nil || res.Status != ecsdeploy.StatusSucceeded || res.URL != "https://"+domain {
					t.Fatalf("deploy: %v, %s at %q; want succeeded at https://%s", err, res.Status, res.URL, domain)
				}
				if h, _ := hosts.Load().(string); h != domain {
					t.Errorf("the load balancer heard Host %q, want %s", h, domain)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.says) || res.Status != ecsdeploy.StatusRolledBack || strings.Contains(res.URL, "attacker") {
				t.Errorf("deploy: %v (%s, url %q), want rolled back saying %q", err, res.Status, res.URL, tt.says)
			}
		})
	}
}
