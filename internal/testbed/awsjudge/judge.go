// Package awsjudge stands in front of moto and the ECS simulator and
// judges every request as AWS would before acting on it, which moto does
// not: the operation's request rules from AWS's own service model
// (awsmodel), and IAM, by a maintained evaluator (iamsim), for the
// principal whose credentials signed the request, against the policies as
// they are in moto (inline, managed, boundary, trust), mapped by one table
// (authz). A request AWS would refuse is answered as AWS answers it
// (AccessDenied, ValidationException) and recorded against the session of
// the test bed that sent it, which fails the test.
package awsjudge

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/autonote/deploy-action/internal/testbed/authz"
	"github.com/autonote/deploy-action/internal/testbed/awsmodel"
	"github.com/autonote/deploy-action/internal/testbed/iamsim"
)

// Account is the account moto serves.
const Account = "123456789012"

// Violation is a request AWS would refuse.
type Violation struct {
	Kind      string // iam, request, unmapped
	Principal string // the role that sent it; "admin" for the test bed's own credentials
	Operation string // service:Operation
	Action    string
	Resource  string
	Detail    string
}

func (v Violation) String() string {
	switch v.Kind {
	case "iam":
		return fmt.Sprintf("IAM denies %s %s on %s (%s): %s", v.Principal, v.Action, v.Resource, v.Operation, v.Detail)
	case "request":
		return fmt.Sprintf("AWS refuses %s from %s: %s", v.Operation, v.Principal, v.Detail)
	}
	return fmt.Sprintf("not judged: %s from %s: %s", v.Operation, v.Principal, v.Detail)
}

// Session collects the violations of one test's requests: those signed
// with its admin key and with every role's credentials obtained with it.
type Session struct {
	mu         sync.Mutex
	violations []Violation
	expected   []expected
}

// expected is a denial a test asks for: a bad input AWS refuses.
type expected struct{ action, resource string }

// Expect says IAM is to deny action on resource to the session: a test of
// a bad input (a cluster that does not exist, which a deploy role scoped
// to its own may not even describe). Such a denial is not a violation.
func (s *Session) Expect(action, resource string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expected = append(s.expected, expected{action, resource})
}

// Violations are what the session's requests broke so far.
func (s *Session) Violations() []Violation {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.violations)
}

func (s *Session) add(v Violation) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if v.Kind == "iam" && slices.Contains(s.expected, expected{v.Action, v.Resource}) {
		return
	}
	s.violations = append(s.violations, v)
}

// principal is who signs with an access key.
type principal struct {
	role    string // the role's ARN; "" for the test bed's admin
	session *Session
}

// Judge judges the requests to one moto (and the simulators in front of
// it). It is safe for concurrent use.
type Judge struct {
	models *awsmodel.Models
	eval   func() (*iamsim.Evaluator, error)
	moto   *moto // admin reads of what the requests name

	mu       sync.Mutex
	keys     map[string]principal // by access key
	tokens   map[string]principal // registry passwords GetAuthorizationToken gave, by password
	roles    map[string]*Session  // who asked for a role's web identity
	orphans  []Violation          // violations of keys no session holds
	policies map[string]*policySet
	gen      int // bumped by every IAM write: cached policies are stale
	stats    Stats
	actions  map[string]bool
}

// Stats count what a judge judged.
type Stats struct {
	Requests  int // requests judged against AWS's request rules
	IAMChecks int // IAM authorizations evaluated
	Actions   int // distinct IAM actions among them
	Denied    int
	Refused   int // requests that broke a request rule
	Unmapped  int // requests no table maps (not judged by IAM)
}

// New returns a judge for the moto at motoURL (the direct address, not
// one behind a judge), reading models from botocore's data directory
// dir, and IAM with the evaluator eval returns.
func New(motoURL, dir string, eval func() (*iamsim.Evaluator, error)) *Judge {
	return &Judge{models: awsmodel.Open(dir), eval: eval, moto: newMoto(motoURL),
		keys: map[string]principal{}, tokens: map[string]principal{}, roles: map[string]*Session{}, policies: map[string]*policySet{}, actions: map[string]bool{}}
}

// Session registers an access key as a test's admin credentials.
func (j *Judge) Session(accessKey string) *Session {
	s := &Session{}
	j.mu.Lock()
	defer j.mu.Unlock()
	j.keys[accessKey] = principal{session: s}
	return s
}

// Role registers credentials of a role, as a session's.
func (j *Judge) Role(accessKey, roleARN string, s *Session) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.keys[accessKey] = principal{role: roleARN, session: s}
}

// WebIdentity says the session will assume role with a web identity (the
// action's OIDC): the credentials it gets are the session's.
func (j *Judge) WebIdentity(roleARN string, s *Session) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.roles[roleARN] = s
}

// Orphans are the violations of requests no session sent.
func (j *Judge) Orphans() []Violation {
	j.mu.Lock()
	defer j.mu.Unlock()
	return slices.Clone(j.orphans)
}

// Stats are the judge's counts so far.
func (j *Judge) Stats() Stats {
	j.mu.Lock()
	defer j.mu.Unlock()
	s := j.stats
	s.Actions = len(j.actions)
	return s
}

// ActionsJudged are the IAM actions evaluated so far.
func (j *Judge) ActionsJudged() []string {
	j.mu.Lock()
	defer j.mu.Unlock()
	var out []string
	for a := range j.actions {
		out = append(out, a)
	}
	slices.Sort(out)
	return out
}

func (j *Judge) record(p principal, v Violation) {
	if p.role == "" {
		v.Principal = "admin"
	} else {
		v.Principal = p.role
	}
	if p.session != nil {
		p.session.add(v)
		return
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	j.orphans = append(j.orphans, v)
}

func (j *Judge) principalOf(key string) principal {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.keys[key]
}

// Handler judges each request, then hands what AWS would accept to next.
func (j *Judge) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/moto-api") {
			next.ServeHTTP(w, r)
			return
		}
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		req, err := j.models.Decode(r, body)
		if err != nil {
			j.countUnmapped()
			key, _, _, _ := awsmodel.Credential(r.Header)
			j.record(j.principalOf(key), Violation{Kind: "unmapped", Operation: r.Header.Get("X-Amz-Target"), Detail: err.Error()})
			next.ServeHTTP(w, r)
			return
		}
		p := j.principalOf(req.AccessKey)
		op := req.Model.Name + ":" + req.Operation
		if vs := awsmodel.Validate(req); len(vs) > 0 {
			j.count(func(s *Stats) { s.Requests++; s.Refused++ })
			var msgs []string
			for _, v := range vs {
				msgs = append(msgs, v.String())
			}
			j.record(p, Violation{Kind: "request", Operation: op, Detail: strings.Join(msgs, "; ")})
			refuse(w, req, "ValidationException", strings.Join(msgs, "; "))
			return
		}
		j.count(func(s *Stats) { s.Requests++ })
		if denied := j.authorize(r.Context(), p, req, body); denied != "" {
			refuse(w, req, "AccessDenied", denied)
			return
		}
		if req.Model.Name == "iam" && !readOnly(req.Operation) {
			defer j.iamWritten()
		}
		if req.Model.Name == "sts" && strings.HasPrefix(req.Operation, "AssumeRole") {
			j.assumed(w, r, next, p, req)
			return
		}
		if req.Model.Name == "ecr" && req.Operation == "GetAuthorizationToken" {
			j.registryToken(w, r, next, p)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (j *Judge) count(f func(*Stats)) {
	j.mu.Lock()
	defer j.mu.Unlock()
	f(&j.stats)
}

func (j *Judge) countUnmapped() { j.count(func(s *Stats) { s.Unmapped++ }) }

func (j *Judge) iamWritten() {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.gen++
	clear(j.policies)
}

// authorize judges the request's IAM authorizations as its principal;
// it returns AWS's message when one is denied.
func (j *Judge) authorize(ctx context.Context, p principal, req *awsmodel.Request, body []byte) string {
	op := req.Model.Name + ":" + req.Operation
	if req.Operation == "AssumeRoleWithWebIdentity" {
		return j.webIdentity(ctx, req)
	}
	if p.role == "" {
		return "" // the test bed's admin: AdministratorAccess
	}
	checks, err := authz.Checks(ctx, authz.Request{Service: req.Model.Name, Operation: req.Operation, Params: req.Params, Region: req.Region, Account: Account}, j.moto)
	if ctx.Err() != nil {
		return ""
	}
	if err != nil {
		j.countUnmapped()
		j.record(p, Violation{Kind: "unmapped", Operation: op, Detail: err.Error()})
		if errors.Is(err, authz.ErrUnmapped) {
			return fmt.Sprintf("User: %s is not authorized to perform %s (the test bed cannot map it to IAM: add it to internal/testbed/authz)", p.role, op)
		}
		return ""
	}
	return j.evaluate(ctx, p, op, req.Region, checks)
}

// evaluate judges checks as p's role: AWS's message for the first one
// IAM denies, "" when all are allowed.
func (j *Judge) evaluate(ctx context.Context, p principal, op, region string, checks []authz.Check) string {
	set, err := j.policiesOf(ctx, p.role)
	if ctx.Err() != nil {
		return ""
	}
	if err != nil {
		j.record(p, Violation{Kind: "unmapped", Operation: op, Detail: "read the policies of " + p.role + ": " + err.Error()})
		return ""
	}
	e, err := j.eval()
	if err != nil {
		j.record(p, Violation{Kind: "unmapped", Operation: op, Detail: err.Error()})
		return ""
	}
	for _, c := range checks {
		sim := iamsim.Simulation{Principal: sessionARN(p.role), Action: c.Action, Resource: c.Resource, Account: Account,
			Context: j.context(ctx, p.role, region, c, set), Identity: set.identity, Boundary: set.boundary}
		d, err := e.Evaluate(ctx, sim)
		if ctx.Err() != nil {
			return "" // the caller went away (a killed replica): nothing to judge
		}
		if err != nil {
			j.record(p, Violation{Kind: "unmapped", Operation: op, Action: c.Action, Resource: c.Resource, Detail: err.Error()})
			continue
		}
		j.mu.Lock()
		j.stats.IAMChecks++
		j.actions[c.Action] = true
		j.mu.Unlock()
		switch {
		case d.Result == "Error" && unjudgeable(c):
			continue
		case d.Result == "Error":
			j.record(p, Violation{Kind: "unmapped", Operation: op, Action: c.Action, Resource: c.Resource, Detail: "the evaluator takes no such request: " + d.Error})
		case !d.Allowed():
			j.count(func(s *Stats) { s.Denied++ })
			j.record(p, Violation{Kind: "iam", Operation: op, Action: c.Action, Resource: c.Resource, Detail: explain(d, set, sim.Context)})
			return fmt.Sprintf("User: %s is not authorized to perform: %s on resource: %s because %s", sessionARN(p.role), c.Action, c.Resource, awsReason(d))
		}
	}
	return ""
}

// unjudgeable are requests the evaluator's data cannot take: its Elastic
// Load Balancing entry of AddTags is Classic's (load balancers only), so
// the tags of a v2 target group, listener or rule are not judged.
func unjudgeable(c authz.Check) bool {
	return c.Action == "elasticloadbalancing:AddTags" && !strings.Contains(c.Resource, ":loadbalancer/")
}

// sessionARN is the principal a role's session acts as.
func sessionARN(role string) string {
	return strings.Replace(strings.Replace(role, ":iam::", ":sts::", 1), ":role/", ":assumed-role/", 1) + "/testbed"
}

// context are the condition keys of a check: the request's own, the
// global ones AWS sets, and the resource's tags when a policy reads them.
func (j *Judge) context(ctx context.Context, role, region string, c authz.Check, set *policySet) map[string]any {
	out := map[string]any{
		"aws:PrincipalArn": role, "aws:PrincipalAccount": Account, "aws:RequestedRegion": region,
		"aws:SecureTransport": "true", "aws:PrincipalType": "AssumedRole", "aws:ViaAWSService": "false",
	}
	for k, v := range c.Context {
		out[k] = v
	}
	if c.Exists && set.readsTags {
		for k, v := range j.moto.tags(ctx, c.Resource) {
			out["aws:ResourceTag/"+k] = v
			if strings.HasPrefix(c.Action, "ec2:") {
				out["ec2:ResourceTag/"+k] = v
			}
		}
	}
	return out
}

// explain says which policy let the request down, for the test's failure.
func explain(d iamsim.Decision, set *policySet, ctx map[string]any) string {
	var why []string
	if slices.Contains(d.BlockedBy, "identity") {
		if len(d.Deny) > 0 {
			why = append(why, "explicitly denied by "+strings.Join(d.Deny, ", "))
		} else {
			why = append(why, "no statement of "+strings.Join(set.names(set.identity), ", ")+" allows it")
		}
	}
	if slices.Contains(d.BlockedBy, "pb") {
		why = append(why, "the permissions boundary "+strings.Join(set.names(set.boundary), ", ")+" does not allow it")
	}
	if len(why) == 0 {
		why = append(why, d.Result)
	}
	keys, _ := json.Marshal(ctx)
	return strings.Join(why, "; ") + " (context " + string(keys) + ")"
}

// awsReason words a denial as AWS does.
func awsReason(d iamsim.Decision) string {
	switch {
	case len(d.Deny) > 0:
		return "an explicit deny in a policy"
	case slices.Contains(d.BlockedBy, "pb"):
		return "no permissions boundary allows the action"
	}
	return "no identity-based policy allows the action"
}

// webIdentity judges sts:AssumeRoleWithWebIdentity as far as the
// evaluator can: the role must exist (moto hands out credentials for any
// name). Its trust's conditions on GitHub's sub and aud are keys the
// evaluator's data lacks, so they are not judged.
func (j *Judge) webIdentity(ctx context.Context, req *awsmodel.Request) string {
	role, _ := req.Params["RoleArn"].(string)
	if _, err := j.moto.role(ctx, lastPart(role)); err != nil {
		return "Not authorized to perform sts:AssumeRoleWithWebIdentity: " + err.Error()
	}
	return ""
}

var accessKeyRe = regexp.MustCompile(`<AccessKeyId>([^<]+)</AccessKeyId>`)

// assumed forwards an AssumeRole call and notes whose the credentials it
// hands out are.
func (j *Judge) assumed(w http.ResponseWriter, r *http.Request, next http.Handler, p principal, req *awsmodel.Request) {
	rec := &recorder{header: http.Header{}, code: http.StatusOK}
	next.ServeHTTP(rec, r)
	if rec.code == http.StatusOK {
		role, _ := req.Params["RoleArn"].(string)
		if k := accessKeyRe.FindSubmatch(rec.body.Bytes()); k != nil {
			s := p.session
			if req.Operation == "AssumeRoleWithWebIdentity" {
				j.mu.Lock()
				s = j.roles[role]
				j.mu.Unlock()
			}
			j.Role(string(k[1]), role, s)
		}
	}
	for k, v := range rec.header {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.code)
	_, _ = w.Write(rec.body.Bytes())
}

type recorder struct {
	header http.Header
	code   int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header         { return r.header }
func (r *recorder) WriteHeader(code int)        { r.code = code }
func (r *recorder) Write(p []byte) (int, error) { return r.body.Write(p) }

func lastPart(s string) string { return s[strings.LastIndex(s, "/")+1:] }

// readOnly reports whether an operation only reads.
func readOnly(op string) bool {
	return strings.HasPrefix(op, "Get") || strings.HasPrefix(op, "List") || strings.HasPrefix(op, "Describe")
}
