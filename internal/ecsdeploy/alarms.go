package ecsdeploy

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
)

// AlarmsAPI reads CloudWatch alarms.
type AlarmsAPI interface {
	DescribeAlarms(ctx context.Context, in *cloudwatch.DescribeAlarmsInput, opts ...func(*cloudwatch.Options)) (*cloudwatch.DescribeAlarmsOutput, error)
}

// WithAlarms lets the engine name the deployment alarm that failed a
// rollout, and why it fired. Without it (or with nil, the default) a failure says only what ECS says.
func WithAlarms(c AlarmsAPI) Option {
	return func(d *Deployer) error {
		d.alarms = c
		return nil
	}
}

// Alarm is a deployment alarm that was in ALARM when a rollout failed.
type Alarm struct {
	Name   string
	Reason string // CloudWatch's state reason
}

// firingAlarms are the service's deployment alarms (deploymentConfiguration
// .alarms) in ALARM now. A failure to read them is logged: the rollout's
// failure is reported either way.
func (r *run) firingAlarms(ctx context.Context) []Alarm {
	if r.alarms == nil {
		return nil
	}
	svc, err := r.describeService(ctx)
	if err != nil {
		return nil
	}
	cfg := svc.DeploymentConfiguration
	if cfg == nil || cfg.Alarms == nil || !cfg.Alarms.Enable || len(cfg.Alarms.AlarmNames) == 0 {
		return nil
	}
	names := cfg.Alarms.AlarmNames[:min(len(cfg.Alarms.AlarmNames), 100)]
	out, err := r.alarms.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{AlarmNames: names,
		AlarmTypes: []cwtypes.AlarmType{cwtypes.AlarmTypeMetricAlarm, cwtypes.AlarmTypeCompositeAlarm}})
	if err != nil {
		r.log.Warn("could not read the service's deployment alarms", "alarms", names, "error", err)
		return nil
	}
	var firing []Alarm
	for _, a := range out.MetricAlarms {
		if a.StateValue == cwtypes.StateValueAlarm {
			firing = append(firing, Alarm{Name: aws.ToString(a.AlarmName), Reason: aws.ToString(a.StateReason)})
		}
	}
	for _, a := range out.CompositeAlarms {
		if a.StateValue == cwtypes.StateValueAlarm {
			firing = append(firing, Alarm{Name: aws.ToString(a.AlarmName), Reason: aws.ToString(a.StateReason)})
		}
	}
	return firing
}
