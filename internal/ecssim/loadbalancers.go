package ecssim

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
)

// Services behind a load balancer: as ECS does, the simulator registers
// each running task's private address in the service's target groups in
// moto, and deregisters it when the task stops. moto reports every
// registered target healthy; a rollout whose scenario is Unhealthy fails
// its tasks with ECS's words for failed health checks.

// syncTargets brings the target groups in moto in line with the running
// tasks, before a request is served. moto is called without the
// simulator's lock held.
func (s *Simulator) syncTargets(ctx context.Context, region string) error {
	type change struct {
		sv       *service
		tg, role string // role: the infrastructure role ECS registers with, if any
		port     int32
		add, del []string
	}
	var running []*types.Task
	s.mu.Lock()
	for _, sv := range s.services {
		if len(sv.svc.LoadBalancers) == 0 {
			continue
		}
		s.advance(sv)
		for _, t := range sv.tasks {
			if aws.ToString(t.LastStatus) == "RUNNING" {
				running = append(running, t)
			}
		}
	}
	s.mu.Unlock()
	if len(running) == 0 && !s.anyTargets() {
		return nil
	}
	if err := s.attachNetworks(ctx, running); err != nil {
		return err
	}
	var changes []change
	s.mu.Lock()
	for _, sv := range s.services {
		for _, lb := range sv.svc.LoadBalancers {
			want := map[string]bool{}
			for _, t := range sv.tasks {
				if ip := privateIP(t); ip != "" && aws.ToString(t.LastStatus) == "RUNNING" {
					want[ip] = true
				}
			}
			c := change{sv: sv, tg: aws.ToString(lb.TargetGroupArn), port: aws.ToInt32(lb.ContainerPort)}
			if lb.AdvancedConfiguration != nil {
				c.role = aws.ToString(lb.AdvancedConfiguration.RoleArn)
			}
			for ip := range want {
				if !sv.targets[ip] {
					c.add = append(c.add, ip)
				}
			}
			for ip := range sv.targets {
				if !want[ip] {
					c.del = append(c.del, ip)
				}
			}
			if len(c.add)+len(c.del) > 0 {
				changes = append(changes, c)
			}
		}
	}
	s.mu.Unlock()
	for _, c := range changes {
		cl, err := s.elbAs(ctx, region, c.role)
		if err != nil {
			return err
		}
		targets := func(ips []string) []elbtypes.TargetDescription {
			var out []elbtypes.TargetDescription
			for _, ip := range ips {
				out = append(out, elbtypes.TargetDescription{Id: aws.String(ip), Port: aws.Int32(c.port)})
			}
			return out
		}
		if len(c.add) > 0 {
			if _, err := cl.RegisterTargets(ctx, &elb.RegisterTargetsInput{TargetGroupArn: aws.String(c.tg), Targets: targets(c.add)}); err != nil {
				return fmt.Errorf("register tasks in target group %s in moto: %w", c.tg, err)
			}
		}
		if len(c.del) > 0 {
			if _, err := cl.DeregisterTargets(ctx, &elb.DeregisterTargetsInput{TargetGroupArn: aws.String(c.tg), Targets: targets(c.del)}); err != nil {
				return fmt.Errorf("deregister tasks from target group %s in moto: %w", c.tg, err)
			}
		}
		s.mu.Lock()
		if c.sv.targets == nil {
			c.sv.targets = map[string]bool{}
		}
		for _, ip := range c.add {
			c.sv.targets[ip] = true
		}
		for _, ip := range c.del {
			delete(c.sv.targets, ip)
		}
		s.mu.Unlock()
	}
	return nil
}

// syncWeights writes the listener rules' weights in moto as ECS moves
// them with the service's infrastructure role: the production rule sends
// a shifting deployment's share of production to the alternate target
// group, the test rule all of the test traffic once it shifted. moto is
// called without the simulator's lock held.
func (s *Simulator) syncWeights(ctx context.Context, region string) error {
	type write struct {
		sv                             *service
		rule, primary, alternate, role string
		green                          int
	}
	var writes []write
	s.mu.Lock()
	for _, sv := range s.services {
		if len(sv.history) == 0 || sv.history[0].shift == nil {
			continue
		}
		sh := sv.history[0].shift
		test := 0
		if sh.test {
			test = 100
		}
		for _, lb := range sv.svc.LoadBalancers {
			c := lb.AdvancedConfiguration
			if c == nil {
				continue
			}
			for _, w := range []write{{rule: aws.ToString(c.ProductionListenerRule), green: sh.prod}, {rule: aws.ToString(c.TestListenerRule), green: test}} {
				if last, ok := sv.weights[w.rule]; w.rule == "" || ok && last == w.green {
					continue
				}
				w.sv, w.primary, w.alternate, w.role = sv, aws.ToString(lb.TargetGroupArn), aws.ToString(c.AlternateTargetGroupArn), aws.ToString(c.RoleArn)
				writes = append(writes, w)
			}
		}
	}
	s.mu.Unlock()
	for _, w := range writes {
		cl, err := s.elbAs(ctx, region, w.role)
		if err != nil {
			return err
		}
		_, err = cl.ModifyRule(ctx, &elb.ModifyRuleInput{RuleArn: aws.String(w.rule), Actions: []elbtypes.Action{{
			Type: elbtypes.ActionTypeEnumForward, ForwardConfig: &elbtypes.ForwardActionConfig{TargetGroups: []elbtypes.TargetGroupTuple{
				{TargetGroupArn: aws.String(w.primary), Weight: aws.Int32(int32(100 - w.green))},
				{TargetGroupArn: aws.String(w.alternate), Weight: aws.Int32(int32(w.green))},
			}}}}})
		if err != nil {
			return fmt.Errorf("shift the weights of rule %s in moto: %w", w.rule, err)
		}
		s.mu.Lock()
		if w.sv.weights == nil {
			w.sv.weights = map[string]int{}
		}
		w.sv.weights[w.rule] = w.green
		s.mu.Unlock()
	}
	return nil
}

func (s *Simulator) anyTargets() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, sv := range s.services {
		if len(sv.targets) > 0 {
			return true
		}
	}
	return false
}

// privateIP is the private address of a task's network interface.
func privateIP(t *types.Task) string {
	for _, a := range t.Attachments {
		for _, d := range a.Details {
			if aws.ToString(d.Name) == "privateIPv4Address" {
				return aws.ToString(d.Value)
			}
		}
	}
	return ""
}

// elbAs is the ELBv2 client ECS moves a service's traffic with: as its
// infrastructure role when it has one and the simulator acts as roles
// (WithActingRoles), else moto's, directly.
func (s *Simulator) elbAs(ctx context.Context, region, role string) (*elb.Client, error) {
	if role == "" || s.actAs == nil {
		return s.elbClient(region), nil
	}
	s.mu.Lock()
	c, ok := s.roleELBs[role+" "+region]
	s.mu.Unlock()
	if ok {
		return c, nil
	}
	cfg, err := s.actAs(ctx, role)
	if err != nil {
		return nil, fmt.Errorf("act as %s: %w", role, err)
	}
	cfg.Region = region
	c = elb.NewFromConfig(cfg)
	s.mu.Lock()
	s.roleELBs[role+" "+region] = c
	s.mu.Unlock()
	return c, nil
}

// elbClient is the moto ELBv2 client of a region, made once.
func (s *Simulator) elbClient(region string) *elb.Client {
	return perRegion(s, s.elbs, region, func(c aws.Config) *elb.Client { return elb.NewFromConfig(c) })
}
