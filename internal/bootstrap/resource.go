package bootstrap

import "context"

// Action is what plan says of a resource.
type Action string

// The actions of a plan.
const (
	Exists Action = "exists"
	Create Action = "create"
	Change Action = "change"
)

// resource is one thing the bootstrap makes.
type resource struct {
	kind, name string
	// stage orders creation: resources of one stage depend only on earlier
	// stages and are made concurrently.
	stage int
	// find looks the resource up, records its IDs, and says whether it is
	// missing or has drifted (detail says how).
	find   func(ctx context.Context) (Action, string, error)
	create func(ctx context.Context) error
	// fix repairs drift; nil when find never reports a change.
	fix func(ctx context.Context) error
	// destroy removes the resource if the bootstrap made it; it reports
	// whether it did.
	destroy func(ctx context.Context) (bool, error)
}

// Step is one resource in a plan or a run.
type Step struct {
	Kind   string `json:"kind"`
	Name   string `json:"name"`
	Action Action `json:"action"`
	Detail string `json:"detail,omitempty"`
}

func (s *Stack) resources() []resource {
	rs := []resource{
		s.vpc(), s.appSecretResource(), s.apiKeySecret(), s.repository(), s.logGroup(), s.cluster(),
		s.internetGateway(),
	}
	for i := range s.cfg.PublicSubnets {
		rs = append(rs, s.subnet(true, i))
	}
	for i := range s.cfg.PrivateSubnets {
		rs = append(rs, s.subnet(false, i))
	}
	rs = append(rs, s.securityGroup(), s.executionRole(), s.routeTable(true), s.routeTable(false), s.taskDefinition(), s.service())
	if s.cfg.GitHub != nil {
		rs = append(rs, s.oidcProvider(), s.deployRole())
	}
	return rs
}
