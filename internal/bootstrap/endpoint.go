package bootstrap

// The endpoint choices.
const (
	EndpointPublicIP     = "public-ip"
	EndpointLoadBalancer = "load-balancer"
)

// tlsPolicy is the listener's TLS policy: TLS 1.3 and 1.2 only.
const tlsPolicy = "ELBSecurityPolicy-TLS13-1-2-2021-06"

func (s *Stack) behindLoadBalancer() bool { return s.cfg.Endpoint == EndpointLoadBalancer }
