package bootstrap

import (
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// TestSizeAdvice: a task size in the config that the running revision does
// not have is said, with what would change it; the same size says nothing.
func TestSizeAdvice(t *testing.T) {
	t.Parallel()
	td := &ecstypes.TaskDefinition{TaskDefinitionArn: aws.String("arn:aws:ecs:us-east-1:1:task-definition/s-task:4"), Family: aws.String("s-task"),
		Cpu: aws.String("256"), Memory: aws.String("512")}
	if got := sizeAdvice(td, "256", "512"); got != nil {
		t.Errorf("same size: %q, want nothing", got)
	}
	got := strings.Join(sizeAdvice(td, "512", "1024"), "\n")
	for _, want := range []string{"revision s-task:4 runs cpu 256 and memory 512, the config says cpu 512 and memory 1024", "reaches no task by itself", "task-definition input"} {
		if !strings.Contains(got, want) {
			t.Errorf("advice %q lacks %q", got, want)
		}
	}
}
