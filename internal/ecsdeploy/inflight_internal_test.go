package ecsdeploy

import (
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/autonote/deploy-action/internal/handoff"
)

func TestReadRollout(t *testing.T) {
	t.Parallel()
	at := func(min int) *time.Time { return aws.Time(time.Date(2026, 11, 30, 5, min, 0, 0, time.UTC)) }
	dep := func(id, status string, state types.DeploymentRolloutState, created int) types.Deployment {
		return types.Deployment{Id: aws.String(id), Status: aws.String(status), RolloutState: state, TaskDefinition: aws.String("td:" + id), CreatedAt: at(created)}
	}
	const (
		done    = types.DeploymentRolloutStateCompleted
		running = types.DeploymentRolloutStateInProgress
		broken  = types.DeploymentRolloutStateFailed
	)
	tests := []struct {
		name                string
		deployments         []types.Deployment
		wantStable, wantRun string
	}{
		{"steady", []types.Deployment{dep("7", "PRIMARY", done, 1)}, "7", ""},
		{"a rollout over a stable one", []types.Deployment{dep("8", "PRIMARY", running, 2), dep("7", "ACTIVE", done, 1)}, "7", "8"},
		{"a failed rollout ECS did not roll back", []types.Deployment{dep("8", "PRIMARY", broken, 2), dep("7", "ACTIVE", done, 1)}, "7", "8"},
		{"a rollout over an interrupted one: the stable one is older still",
			[]types.Deployment{dep("9", "PRIMARY", running, 3), dep("8", "ACTIVE", running, 2), dep("7", "ACTIVE", done, 1)}, "7", "9"},
		{"a rollout over a failed one", []types.Deployment{dep("9", "PRIMARY", running, 3), dep("8", "ACTIVE", broken, 2), dep("7", "ACTIVE", done, 1)}, "7", "9"},
		{"the newest of two completed", []types.Deployment{dep("9", "PRIMARY", running, 3), dep("7", "ACTIVE", done, 1), dep("8", "ACTIVE", done, 2)}, "8", "9"},
		{"the first deployment of a new service", []types.Deployment{dep("1", "PRIMARY", running, 1)}, "", "1"},
		{"no rollout state: all tasks running counts as completed", []types.Deployment{{Id: aws.String("1"), Status: aws.String("PRIMARY"), TaskDefinition: aws.String("td:1"), DesiredCount: 1, RunningCount: 1}}, "1", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			st := readRollout(&types.Service{Deployments: tt.deployments})
			var stable, rolling string
			if st.stable != nil {
				stable = aws.ToString(st.stable.Id)
			}
			if st.rolling != nil {
				rolling = aws.ToString(st.rolling.Id)
			}
			if stable != tt.wantStable || rolling != tt.wantRun {
				t.Errorf("stable %q, rolling %q; want %q, %q", stable, rolling, tt.wantStable, tt.wantRun)
			}
		})
	}
}

// TestPlaceholderIsNoRollout: the bootstrap's service at zero tasks, its
// first deploy to come, has a deployment still "in progress" of nothing;
// the first deploy does not wait for it.
func TestPlaceholderIsNoRollout(t *testing.T) {
	t.Parallel()
	d := types.Deployment{Id: aws.String("1"), Status: aws.String("PRIMARY"), RolloutState: types.DeploymentRolloutStateInProgress, TaskDefinition: aws.String("td:1")}
	tag := []types.Tag{{Key: aws.String(handoff.DesiredCountTag), Value: aws.String("1")}}
	if st := readRollout(&types.Service{Deployments: []types.Deployment{d}, Tags: tag}); st.rolling != nil || st.stable == nil {
		t.Errorf("placeholder: stable %v, rolling %v; want it stable", st.stable, st.rolling)
	}
	d.DesiredCount, d.PendingCount = 1, 1
	if st := readRollout(&types.Service{Deployments: []types.Deployment{d}, Tags: tag}); st.rolling == nil {
		t.Error("a deployment with a task to start counted as no rollout")
	}
}

// TestOnMeet: what a deploy does about a rollout in flight, as a table.
func TestOnMeet(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		sameBuild, returning, failed, supersede bool
		want                                    meeting
	}{
		{true, false, false, false, meetAttach},
		{true, false, true, true, meetAttach}, // its own build, failed: attach, which recovers
		{false, true, false, false, meetFollowReturn},
		{false, true, false, true, meetFollowReturn}, // never supersede a return from this build
		{false, false, true, false, meetDeployOverFailed},
		{false, false, false, true, meetSupersede},
		{false, false, false, false, meetWait},
	} {
		if got := onMeet(tc.sameBuild, tc.returning, tc.failed, tc.supersede); got != tc.want {
			t.Errorf("onMeet(same %v, returning %v, failed %v, supersede %v) = %d, want %d", tc.sameBuild, tc.returning, tc.failed, tc.supersede, got, tc.want)
		}
	}
}
