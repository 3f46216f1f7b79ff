package ecsdeploy_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"

	"github.com/autonote/deploy-action/internal/ecsdeploy"
	"github.com/autonote/deploy-action/internal/ecssim"
)

// TestAlarmDuringRolloutRollsBack: a deployment alarm goes to ALARM while a
// rollout is in progress; ECS fails the deployment and rolls back, and the
// engine names the alarm and why it fired.
func TestAlarmDuringRolloutRollsBack(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	name := "target-5xx-" + time.Now().Format("150405.000000")
	f := newFixture(t, fixtureOpts{alarms: []string{name}})
	cw := putAlarm(t, f, name)
	f.bed.Sim.SetScenario(":errors", ecssim.Scenario{After: 3 * time.Second})

	done := make(chan error, 1)
	var res *ecsdeploy.Result
	go func() {
		var err error
		res, err = f.deployer.Deploy(ctx, f.request(f.image("errors")))
		done <- err
	}()
	time.Sleep(500 * time.Millisecond)
	const why = "Threshold Crossed: 1 datapoint [42.0 (30/11/26 08:00:00)] was greater than or equal to the threshold (10.0)."
	if _, err := cw.SetAlarmState(ctx, &cloudwatch.SetAlarmStateInput{AlarmName: aws.String(name), StateValue: cwtypes.StateValueAlarm, StateReason: aws.String(why)}); err != nil {
		t.Fatal(err)
	}
	err := <-done
	var rf *ecsdeploy.RolloutFailedError
	if !errors.As(err, &rf) || res.Status != ecsdeploy.StatusRolledBack {
		t.Fatalf("Deploy = %v (status %v), want a rollout failed by the alarm and rolled back", err, res.Status)
	}
	if len(rf.Alarms) != 1 || rf.Alarms[0].Name != name || !strings.Contains(err.Error(), "alarm "+name+" is in ALARM: "+why) {
		t.Errorf("error %q, alarms %+v: want the alarm named with its state reason", err, rf.Alarms)
	}
	if svc := f.waitStable(t); aws.ToString(svc.TaskDefinition) != f.firstTD {
		t.Errorf("service runs %s after the alarm, want %s", aws.ToString(svc.TaskDefinition), f.firstTD)
	}
}

// putAlarm makes a 5xx alarm of the load balancer in moto's CloudWatch, in
// state OK until a test sets it, and returns the CloudWatch client.
func putAlarm(t *testing.T, f *fixture, name string) *cloudwatch.Client {
	t.Helper()
	cw := cloudwatch.NewFromConfig(f.bed.Config())
	if _, err := cw.PutMetricAlarm(context.Background(), &cloudwatch.PutMetricAlarmInput{
		AlarmName: aws.String(name), Namespace: aws.String("AWS/ApplicationELB"), MetricName: aws.String("HTTPCode_Target_5XX_Count"),
		Statistic: cwtypes.StatisticSum, Period: aws.Int32(60), EvaluationPeriods: aws.Int32(1), Threshold: aws.Float64(10),
		ComparisonOperator: cwtypes.ComparisonOperatorGreaterThanOrEqualToThreshold,
	}); err != nil {
		t.Fatal(err)
	}
	return cw
}
