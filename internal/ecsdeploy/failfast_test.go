package ecsdeploy_test

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/autonote/deploy-action/internal/ecsdeploy"
)

// TestClassifyStop: stop reasons as ECS writes them (the docs' list of
// stopped-task errors, and what the test bed's scenarios write).
func TestClassifyStop(t *testing.T) {
	t.Parallel()
	exited := func(code int32, reason string) []ecsdeploy.StoppedContainer {
		return []ecsdeploy.StoppedContainer{{Name: "server", Reason: reason, ExitCode: aws.Int32(code)}}
	}
	tests := []struct {
		name string
		task ecsdeploy.StoppedTask
		want ecsdeploy.StopClass
	}{
		{"crash at start", ecsdeploy.StoppedTask{StoppedReason: "Essential container in task exited", StopCode: "EssentialContainerExited", Containers: exited(1, "")}, ecsdeploy.StopCertain},
		{"clean exit", ecsdeploy.StoppedTask{StoppedReason: "Essential container in task exited", StopCode: "EssentialContainerExited", Containers: exited(0, "")}, ecsdeploy.StopUnknown},
		{"killed for memory", ecsdeploy.StoppedTask{StoppedReason: "Essential container in task exited", StopCode: "EssentialContainerExited", Containers: exited(137, "OutOfMemoryError: Container killed due to memory usage")}, ecsdeploy.StopCertain},
		{"image not found", ecsdeploy.StoppedTask{StoppedReason: "CannotPullContainerError: pull image manifest has been retried 5 time(s): failed to resolve ref 123456789012.dkr.ecr.us-east-1.amazonaws.com/autonote/server:3484a3f: 123456789012.dkr.ecr.us-east-1.amazonaws.com/autonote/server:3484a3f: not found", StopCode: "TaskFailedToStart"}, ecsdeploy.StopCertain},
		{"registry out of reach", ecsdeploy.StoppedTask{StoppedReason: "CannotPullContainerError: ref pull has been retried 5 time(s): failed to copy: httpReadSeeker: failed open: failed to do request: Get \"https://prod-us-east-1-starport-layer-bucket.s3.us-east-1.amazonaws.com/\": dial tcp 52.216.1.1:443: i/o timeout", StopCode: "TaskFailedToStart"}, ecsdeploy.StopTransient},
		{"secret the role may not read", ecsdeploy.StoppedTask{StoppedReason: "ResourceInitializationError: unable to pull secrets or registry auth: execution resource retrieval failed: unable to retrieve secret from asm: service call has been retried 5 time(s): AccessDeniedException: User: arn:aws:sts::123456789012:assumed-role/ecsTaskExecutionRole/abc is not authorized to perform: secretsmanager:GetSecretValue", StopCode: "TaskFailedToStart"}, ecsdeploy.StopCertain},
		{"secret, in the test bed's words", ecsdeploy.StoppedTask{StoppedReason: "ResourceInitializationError: unable to pull secrets or registry auth", StopCode: "TaskFailedToStart"}, ecsdeploy.StopCertain},
		{"secret service out of reach", ecsdeploy.StoppedTask{StoppedReason: "ResourceInitializationError: unable to pull secrets or registry auth: execution resource retrieval failed: unable to retrieve secret from asm: service call has been retried 5 time(s): RequestError: send request failed caused by: Post \"https://secretsmanager.us-east-1.amazonaws.com/\": dial tcp 10.0.0.1:443: i/o timeout", StopCode: "TaskFailedToStart"}, ecsdeploy.StopTransient},
		{"ENI provisioning", ecsdeploy.StoppedTask{StoppedReason: "Timeout waiting for network interface provisioning to complete.", StopCode: "TaskFailedToStart"}, ecsdeploy.StopTransient},
		{"ENI attach", ecsdeploy.StoppedTask{StoppedReason: "ResourceInitializationError: failed to configure ENI: failed to setup regular eni: netplugin failed with no error message", StopCode: "TaskFailedToStart"}, ecsdeploy.StopTransient},
		{"capacity", ecsdeploy.StoppedTask{StoppedReason: "Capacity is unavailable at this time. Please try again later or in a different availability zone", StopCode: "TaskFailedToStart"}, ecsdeploy.StopTransient},
		{"throttled", ecsdeploy.StoppedTask{StoppedReason: "CannotPullContainerError: failed to resolve ref: TooManyRequests: Rate exceeded", StopCode: "TaskFailedToStart"}, ecsdeploy.StopTransient},
		{"load balancer health checks", ecsdeploy.StoppedTask{StoppedReason: "Task failed ELB health checks in (target-group arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/autonote/0123456789abcdef)", StopCode: "ServiceSchedulerInitiated"}, ecsdeploy.StopCertain},
		{"container health checks", ecsdeploy.StoppedTask{StoppedReason: "Task failed container health checks", StopCode: "ServiceSchedulerInitiated"}, ecsdeploy.StopCertain},
		{"command not found", ecsdeploy.StoppedTask{StoppedReason: "CannotStartContainerError: Error response from daemon: failed to create shim task: OCI runtime create failed: runc create failed: unable to start container process: exec: \"node\": executable file not found in $PATH: unknown", StopCode: "TaskFailedToStart"}, ecsdeploy.StopCertain},
		{"scaled in", ecsdeploy.StoppedTask{StoppedReason: "Scaling activity initiated by (deployment ecs-svc/1000000000000007919)", StopCode: "ServiceSchedulerInitiated"}, ecsdeploy.StopExpected},
		{"stopped by a person", ecsdeploy.StoppedTask{StoppedReason: "Task stopped by user", StopCode: "UserInitiated"}, ecsdeploy.StopExpected},
		{"spot", ecsdeploy.StoppedTask{StoppedReason: "Your Spot Task was interrupted.", StopCode: "SpotInterruption"}, ecsdeploy.StopTransient},
		{"denied is not ENI", ecsdeploy.StoppedTask{StoppedReason: "ResourceInitializationError: failed to validate logger args: AccessDeniedException: not authorized to perform logs:CreateLogStream", StopCode: "TaskFailedToStart"}, ecsdeploy.StopCertain},
		{"something new", ecsdeploy.StoppedTask{StoppedReason: "A reason ECS adds next year", StopCode: "TaskFailedToStart"}, ecsdeploy.StopUnknown},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := ecsdeploy.ClassifyStop(tt.task); got != tt.want {
				t.Errorf("ClassifyStop(%q) = %s, want %s", tt.task.StoppedReason, got, tt.want)
			}
		})
	}
}

func TestJudgeStops(t *testing.T) {
	t.Parallel()
	crash := ecsdeploy.StoppedTask{StoppedReason: "Essential container in task exited", Containers: []ecsdeploy.StoppedContainer{{Name: "server", ExitCode: aws.Int32(1)}}}
	eni := ecsdeploy.StoppedTask{StoppedReason: "Timeout waiting for network interface provisioning to complete."}
	odd := ecsdeploy.StoppedTask{StoppedReason: "A reason ECS adds next year"}
	tests := []struct {
		name      string
		tasks     []ecsdeploy.StoppedTask
		failAfter int
		tripped   bool
	}{
		{"one crash, fail-after 1", []ecsdeploy.StoppedTask{crash}, 1, true},
		{"one crash, fail-after 2", []ecsdeploy.StoppedTask{crash}, 2, false},
		{"two crashes, fail-after 2", []ecsdeploy.StoppedTask{crash, eni, crash}, 2, true},
		{"fail-after 0 leaves it to ECS", []ecsdeploy.StoppedTask{crash, crash, crash}, 0, false},
		{"transient and unknown never trip", []ecsdeploy.StoppedTask{eni, eni, odd, odd}, 1, false},
		{"nothing stopped", nil, 1, false},
	}
	for _, tt := range tests {
		v := ecsdeploy.JudgeStops(tt.tasks, tt.failAfter)
		if v.Tripped != tt.tripped {
			t.Errorf("%s: tripped = %v, want %v (%d certain)", tt.name, v.Tripped, tt.tripped, len(v.Certain))
		}
	}
}
