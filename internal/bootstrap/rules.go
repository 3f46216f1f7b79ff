package bootstrap

import (
	"cmp"
	"context"
	"crypto/rand"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
)

// TestHeader is the header the test listener rule matches: a request that
// carries it, with the rule's value, reaches the new (green) tasks before
// any user does. The value is random, made with the rule; the deploy role
// reads it from the rule (DescribeRules) and sends it with the gate's
// smoke check. It is no secret of the app: it only picks which build
// answers, and the green build asks for the same key as the blue one.
const TestHeader = "X-Deploy-Test"

// The rules' priorities: last of all the listener's rules, so that a rule
// someone added keeps winning, the test rule before the production one.
const (
	testRulePriority       = 49999
	productionRulePriority = 50000
)

// trafficRules are the two rules ECS moves traffic on, on the production
// listener (HTTPS with a certificate, else HTTP): the production rule
// (every path) and the test rule (the TestHeader). Both on the production
// listener rather than a test listener on a port of its own: the gate's
// check then comes from wherever the deploy runs (GitHub's runners have no
// fixed addresses to open a port to), through the same TLS and
// certificate as users, with no port or security group rule to add. ECS
// rewrites the rules' target groups and weights as it shifts: the
// bootstrap never compares or rewrites their actions.
type trafficRules struct {
	s  *Stack
	lb *loadBalancer
	// Found.
	production, test string // the rules' ARNs
	listener         string
}

func (r *trafficRules) describe() (string, string) {
	return "listener rules", fmt.Sprintf("%s:%d production and test (%s)", r.s.name("alb"), r.lb.productionPort(), TestHeader)
}
func (r *trafficRules) stage() int { return 4 }

func (r *trafficRules) find(ctx context.Context) (found, error) {
	s := r.s
	r.listener = r.lb.listeners[r.lb.productionPort()]
	if r.listener == "" {
		return r.judge(rulesSeen{}), nil
	}
	seen, err := r.read(ctx)
	if err != nil {
		return found{}, err
	}
	if seen.production != "" || seen.test != "" {
		arn := cmp.Or(seen.production, seen.test)
		if seen.owner, err = s.lbOwner(ctx, arn); err != nil {
			return found{}, err
		}
	}
	r.production, r.test = seen.production, seen.test
	s.set(func(o *Outputs) { o.ProductionRuleARN, o.TestRuleARN = seen.production, seen.test })
	return r.judge(*seen), nil
}

// rulesSeen is what the production listener has of the two rules.
type rulesSeen struct {
	production, test string
	owner            Owner
}

// read finds the two rules among the listener's: the production rule by
// its one condition (every path), the test rule by its header.
func (r *trafficRules) read(ctx context.Context) (*rulesSeen, error) {
	seen := &rulesSeen{}
	out, err := r.s.c.ELB.DescribeRules(ctx, &elb.DescribeRulesInput{ListenerArn: aws.String(r.listener)})
	if err != nil {
		return nil, fmt.Errorf("describe the rules of %s: %w", r.listener, err)
	}
	for _, rule := range out.Rules {
		if aws.ToBool(rule.IsDefault) || len(rule.Conditions) != 1 {
			continue
		}
		switch c := rule.Conditions[0]; {
		case aws.ToString(c.Field) == "path-pattern" && slices.Equal(pathValues(c), []string{"/*"}) && seen.production == "":
			seen.production = aws.ToString(rule.RuleArn)
		case aws.ToString(c.Field) == "http-header" && c.HttpHeaderConfig != nil && aws.ToString(c.HttpHeaderConfig.HttpHeaderName) == TestHeader && seen.test == "":
			seen.test = aws.ToString(rule.RuleArn)
		}
	}
	return seen, nil
}

// pathValues are a path-pattern condition's paths, in either of the forms
// ELBv2 answers with.
func pathValues(c elbtypes.RuleCondition) []string {
	if c.PathPatternConfig != nil && len(c.PathPatternConfig.Values) > 0 {
		return c.PathPatternConfig.Values
	}
	return c.Values
}

// judge says what apply is to add: the rules that are missing, on a load
// balancer the bootstrap made or was handed; on an adopted one, advice.
func (r *trafficRules) judge(seen rulesSeen) found {
	f := judgeRules(seen, r.lb.owner, slices.Contains(r.s.cfg.Manage, "load-balancer"))
	r.s.mu.Lock()
	defer r.s.mu.Unlock()
	r.s.rulesSkip = f.skip != ""
	return f
}

// judgeRules is trafficRules.judge on what was seen: lbOwner is whose the
// load balancer is (none: it is to be made).
func judgeRules(seen rulesSeen, lbOwner Owner, managed bool) found {
	f := found{owner: seen.owner, id: cmp.Or(seen.production, seen.test)}
	var missing []string
	if seen.production == "" {
		missing = append(missing, "the production rule (every path, at priority 50000)")
	}
	if seen.test == "" {
		missing = append(missing, "the test rule ("+TestHeader+", at priority 49999)")
	}
	switch {
	case len(missing) == 0:
	case lbOwner == OwnerAdopted && !managed:
		// A rule on someone's listener changes where its requests go.
		f.skip = "the load balancer is not the bootstrap's: it would add " + strings.Join(missing, " and ") + " to its listener, which ECS then moves traffic on; hand it over with manage: [load-balancer] to add them"
	case f.owner == OwnerNone:
	default:
		for _, m := range missing {
			f.changes = append(f.changes, "add "+m)
		}
	}
	return f
}

func (r *trafficRules) create(ctx context.Context) (string, error) {
	r.listener = r.lb.listeners[r.lb.productionPort()]
	if err := r.change(ctx); err != nil {
		return "", err
	}
	return r.production, nil
}

// change adds the missing rules, each forwarding to the target group the
// tasks are in, with none of the alternate's weight: nothing moves until
// ECS moves it.
func (r *trafficRules) change(ctx context.Context) error {
	s := r.s
	o := s.get()
	forward := []elbtypes.Action{{Type: elbtypes.ActionTypeEnumForward, ForwardConfig: &elbtypes.ForwardActionConfig{TargetGroups: []elbtypes.TargetGroupTuple{
		{TargetGroupArn: aws.String(o.TargetGroupARN), Weight: aws.Int32(100)}, {TargetGroupArn: aws.String(o.AlternateTargetGroupARN), Weight: aws.Int32(0)},
	}}}}
	add := func(what string, priority int32, cond elbtypes.RuleCondition) (string, error) {
		out, err := s.c.ELB.CreateRule(ctx, &elb.CreateRuleInput{ListenerArn: aws.String(r.listener), Priority: aws.Int32(priority),
			Conditions: []elbtypes.RuleCondition{cond}, Actions: forward, Tags: elbTag.list(s.tagMap())})
		if err != nil {
			return "", fmt.Errorf("create the %s rule: %w", what, err)
		}
		return aws.ToString(out.Rules[0].RuleArn), nil
	}
	var err error
	if r.production == "" {
		if r.production, err = add("production", productionRulePriority, elbtypes.RuleCondition{Field: aws.String("path-pattern"),
			PathPatternConfig: &elbtypes.PathPatternConditionConfig{Values: []string{"/*"}}}); err != nil {
			return err
		}
	}
	if r.test == "" {
		if r.test, err = add("test", testRulePriority, elbtypes.RuleCondition{Field: aws.String("http-header"),
			HttpHeaderConfig: &elbtypes.HttpHeaderConditionConfig{HttpHeaderName: aws.String(TestHeader), Values: []string{rand.Text()}}}); err != nil {
			return err
		}
	}
	s.set(func(o *Outputs) { o.ProductionRuleARN, o.TestRuleARN = r.production, r.test })
	return nil
}

func (r *trafficRules) destroy(ctx context.Context) error {
	for _, arn := range []string{r.test, r.production} {
		if arn == "" {
			continue
		}
		if _, err := r.s.c.ELB.DeleteRule(ctx, &elb.DeleteRuleInput{RuleArn: aws.String(arn)}); err != nil {
			return fmt.Errorf("delete rule %s: %w", arn, err)
		}
	}
	return nil
}

// rulesSkipped reports whether the listener rules are left unmade.
func (s *Stack) rulesSkipped() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rulesSkip
}
