package ecsdeploy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/autonote/deploy-action/internal/handoff"
)

// Smoke is a request each new task must answer with a 2xx once its rollout
// completed: proof the API works, which ECS's COMPLETED is not.
type Smoke struct {
	// Path is requested on http://<task's public address>:<container port>.
	Path string
	// Header, with HeaderValue, is sent with each request (an API key:
	// never printed).
	Header, HeaderValue string
	// Timeout bounds the whole check; zero means DefaultSmokeTimeout.
	Timeout time.Duration
	// Transport is the base of the requests' transport (its dialer and TLS
	// roots); nil means http.DefaultTransport's. The check follows no
	// redirect and gives each request 5s.
	Transport *http.Transport
}

// DefaultSmokeTimeout is how long new tasks have to answer.
const DefaultSmokeTimeout = 2 * time.Minute

// ErrSmokeFailed is the cause of a rollout that completed but whose tasks
// did not answer the smoke check.
var ErrSmokeFailed = errors.New("smoke check failed")

// smoke asks every new task's address until each answers 2xx, or the
// timeout passes; the error holds the last answer of each that did not.
func (r *run) smoke(ctx context.Context) error {
	sm := r.req.Smoke
	if r.lbErr != nil {
		return fmt.Errorf("%w: %v", ErrSmokeFailed, r.lbErr)
	}
	targets := r.res.Addresses
	if r.res.LoadBalanced {
		targets = []string{strings.TrimPrefix(strings.TrimPrefix(r.res.URL, "https://"), "http://")}
	}
	if len(targets) == 0 {
		return fmt.Errorf("smoke check: the new tasks have no public address to check (is assignPublicIp ENABLED, and may this role call ec2:DescribeNetworkInterfaces?)")
	}
	if r.res.LoadBalanced && strings.HasPrefix(r.res.URL, "https://") && r.domain == "" {
		return fmt.Errorf("smoke check: the load balancer listens on 443, but names no domain (the bootstrap config's domain, its %s tag), so its certificate cannot be checked against the name users call: set domain, or drop smoke-path", handoff.DomainTag)
	}
	var urls []string
	for _, a := range targets {
		urls = append(urls, schemeOf(r.res)+a+sm.Path)
	}
	return r.askUntil(ctx, urls, [2]string{})
}

// noAnswerError is a smoke check that got no 2xx in time: an
// ErrSmokeFailed, saying the last answer of each address.
type noAnswerError struct{ msg string }

func (e *noAnswerError) Error() string { return "smoke check: " + e.msg }
func (e *noAnswerError) Unwrap() error { return ErrSmokeFailed }

// askUntil asks each url, with the extra header if one is named, until
// every one answers 2xx or the smoke timeout passes.
func (r *run) askUntil(ctx context.Context, urls []string, extra [2]string) error {
	timeout := r.req.Smoke.Timeout
	if timeout <= 0 {
		timeout = DefaultSmokeTimeout
	}
	client := r.smokeClient()
	if r.req.Smoke.Header != "" || extra[0] != "" {
		for _, u := range urls {
			if strings.HasPrefix(u, "http://") {
				r.log.Warn("the smoke check's header goes in clear text over plain HTTP: anyone on the path reads it; serve the API behind a load balancer with HTTPS (the bootstrap's endpoint: load-balancer, certificate-arn and domain)", "url", u)
				break
			}
		}
	}
	deadline := r.clock.Now().Add(timeout)
	pending := map[string]string{} // url -> its last answer
	for _, u := range urls {
		pending[u] = "no answer yet"
	}
	for {
		for url := range pending {
			ok, answer := r.ask(ctx, client, url, extra)
			if ok {
				r.log.Info("smoke check passed", "url", url, "answer", answer)
				delete(pending, url)
				continue
			}
			pending[url] = answer
		}
		if len(pending) == 0 {
			return nil
		}
		if !r.clock.Now().Before(deadline) {
			var parts []string
			for url, answer := range pending {
				parts = append(parts, "GET "+url+": "+answer)
			}
			slices.Sort(parts)
			return &noAnswerError{fmt.Sprintf("no 2xx within %v: %s", timeout, strings.Join(parts, "; "))}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-r.clock.After(r.poll.Fast):
		}
	}
}

// smokeClient makes the smoke check's and the gate's requests. Behind a
// load balancer every connection goes to the load balancer's own address,
// whatever host the URL names (the domain is sent as SNI and Host, and the
// certificate verified against it, as a user's browser does), so neither
// the smoke header nor the test rule's header ever reaches another host.
func (r *run) smokeClient() *http.Client {
	base := r.req.Smoke.Transport
	if base == nil {
		base = http.DefaultTransport.(*http.Transport)
	}
	tr := base.Clone()
	if lb := r.lbAddress; lb != "" && r.res.LoadBalanced {
		dial := tr.DialContext
		if dial == nil {
			dial = (&net.Dialer{Timeout: 5 * time.Second}).DialContext
		}
		tr.Proxy = nil // a proxy would be another host
		tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
			_, port, err := net.SplitHostPort(addr)
			if err != nil {
				return nil, err
			}
			return dial(ctx, network, net.JoinHostPort(lb, port))
		}
	}
	return &http.Client{Transport: tr, Timeout: 5 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// schemeOf is https:// for a load balancer that listens on 443.
func schemeOf(res *Result) string {
	if res.LoadBalanced && strings.HasPrefix(res.URL, "https://") {
		return "https://"
	}
	return "http://"
}

// ask makes one request, with the extra header if one is named (a test
// listener rule's), and says how it went, in one line of plain text.
func (r *run) ask(ctx context.Context, client *http.Client, url string, extra [2]string) (bool, string) {
	sm := r.req.Smoke
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return false, err.Error()
	}
	if sm.Header != "" {
		req.Header.Set(sm.Header, sm.HeaderValue)
	}
	if extra[0] != "" {
		req.Header.Set(extra[0], extra[1])
	}
	resp, err := client.Do(req)
	if err != nil {
		return false, err.Error()
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	answer := resp.Status
	if b := oneLine(string(body), 120); b != "" {
		answer += " " + b
	}
	return resp.StatusCode >= 200 && resp.StatusCode < 300, answer
}

// oneLine is text from outside made safe to print: printable runes only,
// on one line, at most n of them.
func oneLine(s string, n int) string {
	var b strings.Builder
	count := 0
	for _, c := range s {
		if count == n {
			b.WriteString("…")
			break
		}
		if !unicode.IsPrint(c) {
			c = ' '
		}
		b.WriteRune(c)
		count++
	}
	return strings.Join(strings.Fields(b.String()), " ")
}
