package ecssim

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// Deployment alarms: a service whose deploymentConfiguration.alarms is
// enabled fails a rollout in progress once one of its alarms is in ALARM
// in moto's CloudWatch, and rolls back when the configuration says so.

// readAlarms reads, before a request is served, the state of the alarms of
// every service with a rollout in progress. moto is called without the
// simulator's lock held.
func (s *Simulator) readAlarms(ctx context.Context, region string) error {
	s.mu.Lock()
	want := map[string]bool{}
	for _, sv := range s.services {
		if names := watchedAlarms(sv); len(names) > 0 {
			for _, n := range names {
				want[n] = true
			}
		}
	}
	s.mu.Unlock()
	if len(want) == 0 {
		return nil
	}
	names := make([]string, 0, len(want))
	for n := range want {
		names = append(names, n)
	}
	slices.Sort(names)
	cw := s.cloudWatchClient(region)
	firing := map[string]bool{}
	for i := 0; i < len(names); i += 100 {
		out, err := cw.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{AlarmNames: names[i:min(i+100, len(names))], AlarmTypes: []cwtypes.AlarmType{cwtypes.AlarmTypeMetricAlarm, cwtypes.AlarmTypeCompositeAlarm}})
		if err != nil {
			return fmt.Errorf("read deployment alarms in moto: %w", err)
		}
		for _, a := range out.MetricAlarms {
			firing[aws.ToString(a.AlarmName)] = a.StateValue == cwtypes.StateValueAlarm
		}
		for _, a := range out.CompositeAlarms {
			firing[aws.ToString(a.AlarmName)] = a.StateValue == cwtypes.StateValueAlarm
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, sv := range s.services {
		sv.firing = nil
		for _, n := range watchedAlarms(sv) {
			if firing[n] {
				sv.firing = append(sv.firing, n)
			}
		}
	}
	return nil
}

// watchedAlarms are a service's deployment alarms while a rollout is in
// progress, or nothing.
func watchedAlarms(sv *service) []string {
	cfg := sv.svc.DeploymentConfiguration
	if cfg == nil || cfg.Alarms == nil || !cfg.Alarms.Enable || len(sv.rollouts) == 0 {
		return nil
	}
	if r := sv.rollouts[0]; r.d.RolloutState != types.DeploymentRolloutStateInProgress || r.rollback {
		return nil
	}
	return cfg.Alarms.AlarmNames
}

// failOnAlarm fails the rollout in progress when one of the service's
// deployment alarms fired, worded as ECS words it.
func (s *Simulator) failOnAlarm(sv *service, now time.Time) {
	if len(sv.firing) == 0 || len(sv.rollouts) == 0 {
		return
	}
	r := sv.rollouts[0]
	if r.d.RolloutState != types.DeploymentRolloutStateInProgress || r.rollback || aws.ToString(r.d.Status) != "PRIMARY" {
		return
	}
	names := strings.Join(sv.firing, ", ")
	if r.shift != nil { // traffic goes back to blue, which still runs
		sv.firing = nil
		if r.shift.status == types.ServiceDeploymentStatusInProgress && sv.svc.DeploymentConfiguration.Alarms.Rollback {
			s.shiftBack(sv, r, now, fmt.Sprintf("alarm(s) %s in ALARM state.", names))
		}
		return
	}
	sv.firing = nil
	r.step = lastStep
	r.d.UpdatedAt = aws.Time(now)
	r.d.RolloutState = types.DeploymentRolloutStateFailed
	r.d.RolloutStateReason = aws.String(fmt.Sprintf("ECS deployment %s failed: alarm(s) %s in ALARM state.", aws.ToString(r.d.Id), names))
	sv.event(s, now, fmt.Sprintf("(deployment %s) deployment failed: alarm(s) %s triggered.", aws.ToString(r.d.Id), names))
	if sv.svc.DeploymentConfiguration.Alarms.Rollback {
		s.rollBack(sv, r, now)
	}
}

// cloudWatchClient is the moto CloudWatch client of a region, made once.
func (s *Simulator) cloudWatchClient(region string) *cloudwatch.Client {
	return perRegion(s, s.cloudwatch, region, func(c aws.Config) *cloudwatch.Client { return cloudwatch.NewFromConfig(c) })
}
