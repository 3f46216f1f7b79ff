package bootstrap

import (
	"context"
	"fmt"
	"slices"
	"strings"
)

// Action is what plan says of a resource.
type Action string

// The actions of a plan.
const (
	Exists Action = "exists"
	Create Action = "create"
	Change Action = "change"
	// Skip is a resource the bootstrap neither finds nor makes, because
	// what it found does not use it (secrets of a task definition it did
	// not make).
	Skip Action = "skip"
)

// Owner says whose a resource is.
type Owner string

// The owners of a resource.
const (
	// OwnerNone: not there; apply creates it and it becomes ours.
	OwnerNone Owner = ""
	// OwnerUs: made by this bootstrap (it carries our tags): the config is
	// enforced and drift repaired; destroy deletes it.
	OwnerUs Owner = "ours"
	// OwnerAdopted: found, made by someone else. Apply never removes,
	// narrows, detaches, rewrites, deletes or re-tags anything on it; it
	// only adds what a deploy needs, and the plan shows each addition.
	// Where the config disagrees, the plan gives advice instead. Destroy
	// leaves it.
	OwnerAdopted Owner = "adopted"
)

// Step is one resource in a plan or a run.
type Step struct {
	Kind   string `json:"kind"`
	Name   string `json:"name"`
	Action Action `json:"action"`
	Owner  Owner  `json:"owner,omitempty"`
	// Whose names the other stack an adopted resource is of.
	Whose  string   `json:"whose,omitempty"`
	ID     string   `json:"id,omitempty"`
	Detail string   `json:"detail,omitempty"`
	Advice []string `json:"advice,omitempty"`
}

// found is what find learned of one resource.
type found struct {
	owner Owner
	// whose names the other stack an adopted resource belongs to, when
	// its tags say.
	whose string
	id    string
	// changes are what apply will do to the resource: drift repair on ours
	// (or on an adopted resource the config hands over), additions a deploy
	// needs on an adopted one.
	changes []string
	// advice is where an adopted resource and the config disagree and apply
	// leaves it as it is: what differs, and the command or config key that
	// would change it.
	advice []string
	// skip says why the resource is neither found nor made.
	skip string
}

func (f found) action() Action {
	switch {
	case f.skip != "":
		return Skip
	case f.owner == OwnerNone:
		return Create
	case len(f.changes) > 0:
		return Change
	}
	return Exists
}

// drift is one way a found resource differs from the config: what differs,
// and the command that would make it agree (advice for an adopted resource).
type drift struct{ what, fix string }

// sortDrift puts each drift among the changes when the resource is ours or
// handed over (key in the config's manage list), else among the advice; it
// reports whether apply is to repair them.
func (s *Stack) sortDrift(f *found, key string, ds []drift) bool {
	return sortDrift(f, key, slices.Contains(s.cfg.Manage, key), ds)
}

// sortDrift is Stack.sortDrift for a judge that knows whether the resource
// was handed over (managed).
func sortDrift(f *found, key string, managed bool, ds []drift) bool {
	enforce := f.owner == OwnerUs || managed
	for _, d := range ds {
		switch {
		case enforce:
			f.changes = append(f.changes, d.what)
		case d.fix != "":
			f.advice = append(f.advice, d.what+": "+d.fix+", or hand it to the bootstrap with manage: ["+key+"]")
		default:
			f.advice = append(f.advice, d.what+": hand it to the bootstrap with manage: ["+key+"] to change it")
		}
	}
	return enforce
}

// resource is one thing the bootstrap finds or makes. find runs first, in
// every verb, and keeps what it learned in the resource's own fields;
// create, change and destroy act on that.
type resource interface {
	// describe names the resource in plans and errors.
	describe() (kind, name string)
	// stage orders creation: resources of one stage depend only on earlier
	// stages and are handled concurrently.
	stage() int
	find(ctx context.Context) (found, error)
	// create makes the resource and returns its ID or ARN.
	create(ctx context.Context) (string, error)
	// change makes the changes find listed.
	change(ctx context.Context) error
	// destroy deletes the resource. It is called only for OwnerUs.
	destroy(ctx context.Context) error
}

func (s *Stack) resources() []resource {
	rs := []resource{
		&vpc{s: s}, &boundary{s: s}, &appSecret{secret: secret{s: s, kind: "app secret", name: s.cfg.AppSecret}},
		&apiKeySecret{secret: secret{s: s, kind: "API key secret", name: s.cfg.APIKeySecret}},
		&repository{s: s}, &logGroup{s: s}, &cluster{s: s}, &gateway{s: s},
	}
	for i := range s.cfg.PublicSubnets {
		rs = append(rs, &subnet{s: s, public: true, i: i})
	}
	for i := range s.cfg.PrivateSubnets {
		rs = append(rs, &subnet{s: s, public: false, i: i})
	}
	rs = append(rs, &securityGroup{s: s}, s.executionRole(), &routeTable{s: s, public: true}, &routeTable{s: s, public: false},
		&taskDefinition{s: s}, &service{s: s})
	if s.behindLoadBalancer() {
		lb := &loadBalancer{s: s}
		rs = append(rs, &lbSecurityGroup{s: s}, &targetGroup{s: s}, lb, &lbIngress{s: s}, &lbAlarms{s: s})
		if s.cfg.Shifts() {
			rs = append(rs, &targetGroup{s: s, alternate: true}, s.infrastructureRole(), &trafficRules{s: s, lb: lb})
		}
	}
	if s.cfg.GitHub != nil {
		rs = append(rs, &oidcProvider{s: s}, s.deployRole())
		if s.cfg.GitHub.BootstrapRole != "" {
			rs = append(rs, s.bootstrapRole())
		}
	}
	return rs
}

func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s: %w", op, err)
}

func accountOf(arn string) string {
	if p := strings.Split(arn, ":"); len(p) > 4 {
		return p[4]
	}
	return ""
}
