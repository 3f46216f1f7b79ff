package action

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/autonote/deploy-action/internal/hookapi"
)

// FuzzHookAnswer: whatever a deploy hook (or what poses as one) answers
// for a job, checkJob either refuses it or every field it lets through is
// one line with no table bar: nothing of it can add an output, break a
// summary row or start a workflow command.
func FuzzHookAnswer(f *testing.F) {
	f.Add([]byte(`{"id":"job1","state":"succeeded","taskDefinition":"arn:aws:ecs:us-east-1:123456789012:task-definition/autonote-server-task:7","image":"123456789012.dkr.ecr.us-east-1.amazonaws.com/autonote/server:3484a3fb816e0859fd6e1cea078d76385ff50625","digest":"sha256:` + strings.Repeat("a", 64) + `","deploymentId":"ecs-svc/1234567890","url":"https://api.autonote.example","events":["ok"]}`))
	f.Add([]byte(`{"id":"job1","state":"succeeded","taskDefinition":"arn:aws:ecs:us-east-1:123456789012:task-definition/x:1\n_GitHubActionsFileCommandDelimeter_\ninjected<<EOF"}`))
	f.Add([]byte(`{"id":"job|1","state":"rolled-back","url":"https://a|b"}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		var j hookapi.Job
		if json.Unmarshal(raw, &j) != nil || checkJob(j) != nil {
			return
		}
		for name, v := range map[string]string{"id": j.ID, "taskDefinition": j.TaskDefinition, "previousTaskDefinition": j.PreviousTaskDefinition,
			"deploymentId": j.DeploymentID, "image": j.Image, "digest": j.Digest, "url": j.URL, "state": string(j.State)} {
			if strings.ContainsAny(v, "\r\n|\u2028\u2029") || strings.Contains(v, "::") && name != "image" {
				t.Fatalf("checkJob let %s %q through", name, v)
			}
		}
	})
}
