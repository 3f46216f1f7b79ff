package bootstrap

import (
	"context"
	"fmt"
	"strings"

	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
)

// lbAlarm is one alarm the bootstrap makes: its name, the target group
// it watches, and whether it counts 5xx answers or unhealthy tasks.
type lbAlarm struct {
	name, targetGroup string
	unhealthy         bool
}

// lbAlarmList are the alarms the bootstrap makes on the target group, two
// of each: the 5xx answers and the unhealthy tasks. A strategy that
// shifts traffic has them on the alternate target group too, where the
// new tasks are while they are checked.
func (s *Stack) lbAlarmList() []lbAlarm {
	if !s.behindLoadBalancer() {
		return nil
	}
	o := s.get()
	list := []lbAlarm{{s.name("target-5xx"), o.TargetGroupARN, false}, {s.name("unhealthy-hosts"), o.TargetGroupARN, true}}
	if s.cfg.Shifts() {
		list = append(list, lbAlarm{s.name("tg2-target-5xx"), o.AlternateTargetGroupARN, false}, lbAlarm{s.name("tg2-unhealthy-hosts"), o.AlternateTargetGroupARN, true})
	}
	return list
}

// alarmNames are the names of lbAlarmList.
func (s *Stack) alarmNames() []string {
	var names []string
	for _, a := range s.lbAlarmList() {
		names = append(names, a.name)
	}
	return names
}

// lbAlarms are CloudWatch alarms on the target group: the tasks' 5xx
// answers and unhealthy tasks. They are the service's deployment alarms,
// with rollback.
type lbAlarms struct{ s *Stack }

func (a *lbAlarms) describe() (string, string) { return "alarms", strings.Join(a.s.alarmNames(), ", ") }
func (a *lbAlarms) stage() int                 { return 4 }

func (a *lbAlarms) find(ctx context.Context) (found, error) {
	s := a.s
	names := s.alarmNames()
	out, err := s.c.CloudWatch.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{AlarmNames: names})
	if err != nil {
		return found{}, fmt.Errorf("describe alarms: %w", err)
	}
	if len(out.MetricAlarms) < len(names) {
		return found{}, nil
	}
	tags, err := s.c.CloudWatch.ListTagsForResource(ctx, &cloudwatch.ListTagsForResourceInput{ResourceARN: out.MetricAlarms[0].AlarmArn})
	if err != nil {
		return found{}, fmt.Errorf("list tags of alarm %s: %w", names[0], err)
	}
	s.set(func(o *Outputs) { o.AlarmNames = names })
	return found{owner: s.owner(cwTag.of(tags.Tags)), whose: whoseOf(cwTag.of(tags.Tags), s.cfg.Name), id: strings.Join(names, ", ")}, nil
}

// dimension is the part of an ELBv2 ARN CloudWatch names it by.
func dimension(arn, after string) string {
	if i := strings.Index(arn, after); i >= 0 {
		return arn[i+len(after):]
	}
	return arn
}

func (a *lbAlarms) create(ctx context.Context) (string, error) {
	s := a.s
	o := s.get()
	tags := cwTag.list(s.tagMap())
	for _, a := range s.lbAlarmList() {
		dims := []cwtypes.Dimension{
			{Name: aws.String("TargetGroup"), Value: aws.String("targetgroup/" + dimension(a.targetGroup, ":targetgroup/"))},
			{Name: aws.String("LoadBalancer"), Value: aws.String(dimension(o.LoadBalancerARN, ":loadbalancer/"))},
		}
		in := &cloudwatch.PutMetricAlarmInput{MetricName: aws.String("HTTPCode_Target_5XX_Count"), Statistic: cwtypes.StatisticSum, Threshold: aws.Float64(float64(s.cfg.Alarm5xxPerMinute)),
			TreatMissingData: aws.String("notBreaching"), AlarmDescription: aws.String("The API answered 5xx: a deploy in progress rolls back.")}
		if a.unhealthy {
			in = &cloudwatch.PutMetricAlarmInput{MetricName: aws.String("UnHealthyHostCount"), Statistic: cwtypes.StatisticMaximum, Threshold: aws.Float64(float64(s.cfg.AlarmUnhealthyHosts)),
				TreatMissingData: aws.String("notBreaching"), AlarmDescription: aws.String("Tasks fail the target group's health check: a deploy in progress rolls back.")}
		}
		in.AlarmName, in.Namespace, in.Dimensions, in.Tags = aws.String(a.name), aws.String("AWS/ApplicationELB"), dims, tags
		in.Period, in.EvaluationPeriods, in.ComparisonOperator = aws.Int32(60), aws.Int32(1), cwtypes.ComparisonOperatorGreaterThanOrEqualToThreshold
		if _, err := s.c.CloudWatch.PutMetricAlarm(ctx, in); err != nil {
			return "", fmt.Errorf("create alarm %s: %w", a.name, err)
		}
	}
	names := s.alarmNames()
	s.set(func(o *Outputs) { o.AlarmNames = names })
	return strings.Join(names, ", "), nil
}

func (a *lbAlarms) change(context.Context) error { return nil }

func (a *lbAlarms) destroy(ctx context.Context) error {
	_, err := a.s.c.CloudWatch.DeleteAlarms(ctx, &cloudwatch.DeleteAlarmsInput{AlarmNames: a.s.alarmNames()})
	return wrap("delete alarms", err)
}
