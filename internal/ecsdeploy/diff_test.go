package ecsdeploy_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/autonote/deploy-action/internal/ecsdeploy"
	"github.com/autonote/deploy-action/internal/testbed"
)

// TestRevisionDiffGolden pins what a deploy shows against the running
// revision (ecspresso's diff): a new image, a size, a variable added, one
// whose value changed (never printed), a secret removed, a tag; fields
// that did not change are not shown, and a list's items are named.
func TestRevisionDiffGolden(t *testing.T) {
	t.Parallel()
	container := func(image string, env []types.KeyValuePair, secrets []types.Secret) types.ContainerDefinition {
		return types.ContainerDefinition{Name: aws.String("server"), Image: aws.String(image), Essential: aws.Bool(true),
			PortMappings: []types.PortMapping{{ContainerPort: aws.Int32(3000)}}, Environment: env, Secrets: secrets}
	}
	kv := func(k, v string) types.KeyValuePair {
		return types.KeyValuePair{Name: aws.String(k), Value: aws.String(v)}
	}
	secret := func(k, arn string) types.Secret { return types.Secret{Name: aws.String(k), ValueFrom: aws.String(arn)} }
	const repo = "123456789012.dkr.ecr.us-east-1.amazonaws.com/autonote/server:"
	running := &ecs.RegisterTaskDefinitionInput{Family: aws.String("autonote-server-task"), Cpu: aws.String("256"), Memory: aws.String("512"),
		ContainerDefinitions: []types.ContainerDefinition{container(repo+"f95f852bd8fca8fcc58a9a2d6c842781e32a215e",
			[]types.KeyValuePair{kv("LOG_LEVEL", "info"), kv("DATABASE_PASSWORD", "hunter2-old")},
			[]types.Secret{secret("API_KEY", "arn:aws:secretsmanager:us-east-1:123456789012:secret:autonote/server/api-key"), secret("OLD_TOKEN", "arn:aws:secretsmanager:us-east-1:123456789012:secret:old")})},
		Tags: []types.Tag{{Key: aws.String("team"), Value: aws.String("api")}}}
	next := &ecs.RegisterTaskDefinitionInput{Family: aws.String("autonote-server-task"), Cpu: aws.String("512"), Memory: aws.String("1024"),
		ContainerDefinitions: []types.ContainerDefinition{container(repo+"3484a3fb816e0859fd6e1cea078d76385ff50625",
			[]types.KeyValuePair{kv("DATABASE_PASSWORD", "hunter2-new"), kv("LOG_LEVEL", "info"), kv("NODE_ENV", "production")},
			[]types.Secret{secret("API_KEY", "arn:aws:secretsmanager:us-east-1:123456789012:secret:autonote/server/api-key")})},
		Tags: []types.Tag{{Key: aws.String("team"), Value: aws.String("platform")}}}
	lines := append(ecsdeploy.RevisionDiff(running, next),
		ecsdeploy.ServiceDiff("arn:aws:ecs:us-east-1:123456789012:task-definition/autonote-server-task:41", "", 0, 2)...)
	got := strings.Join(lines, "\n") + "\n"
	if strings.Contains(got, "hunter2") || strings.Contains(got, "production\"") {
		t.Errorf("the diff prints an environment value:\n%s", got)
	}
	testbed.Golden(t, filepath.Join("testdata", "revision.diff.golden"), []byte(got), *update)
	if same := ecsdeploy.RevisionDiff(running, running); len(same) != 0 {
		t.Errorf("a revision against itself: %q, want nothing", same)
	}
}
