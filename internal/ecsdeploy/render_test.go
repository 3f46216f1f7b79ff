package ecsdeploy_test

import (
	"flag"
	"path/filepath"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/autonote/deploy-action/internal/ecsdeploy"
	"github.com/autonote/deploy-action/internal/testbed"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// TestRenderGolden pins what a dry run prints for the seed's task
// definition: the JSON that aws ecs register-task-definition --cli-input-json
// takes, with the new image and nothing read-only.
func TestRenderGolden(t *testing.T) {
	t.Parallel()
	td := &types.TaskDefinition{
		TaskDefinitionArn:       aws.String("arn:aws:ecs:us-east-1:123456789012:task-definition/autonote-server-task:41"),
		Family:                  aws.String("autonote-server-task"),
		Revision:                41,
		Status:                  types.TaskDefinitionStatusActive,
		Compatibilities:         []types.Compatibility{types.CompatibilityEc2, types.CompatibilityFargate},
		RequiresAttributes:      []types.Attribute{{Name: aws.String("com.amazonaws.ecs.capability.logging-driver.awslogs")}},
		RequiresCompatibilities: []types.Compatibility{types.CompatibilityFargate},
		NetworkMode:             types.NetworkModeAwsvpc,
		Cpu:                     aws.String("256"),
		Memory:                  aws.String("512"),
		ExecutionRoleArn:        aws.String("arn:aws:iam::123456789012:role/ecsTaskExecutionRole"),
		RuntimePlatform:         &types.RuntimePlatform{CpuArchitecture: types.CPUArchitectureX8664, OperatingSystemFamily: types.OSFamilyLinux},
		ContainerDefinitions: []types.ContainerDefinition{{
			Name:         aws.String("server"),
			Image:        aws.String("123456789012.dkr.ecr.us-east-1.amazonaws.com/autonote/server:f95f852bd8fca8fcc58a9a2d6c842781e32a215e"),
			Essential:    aws.Bool(true),
			PortMappings: []types.PortMapping{{ContainerPort: aws.Int32(3000), Protocol: types.TransportProtocolTcp}},
			Environment:  []types.KeyValuePair{{Name: aws.String("PORT"), Value: aws.String("3000")}, {Name: aws.String("FEATURE_FLAGS"), Value: aws.String("")}},
			Secrets: []types.Secret{
				{Name: aws.String("APP_ENV_JSON"), ValueFrom: aws.String("arn:aws:secretsmanager:us-east-1:123456789012:secret:autonote/server/env")},
				{Name: aws.String("API_KEY"), ValueFrom: aws.String("arn:aws:secretsmanager:us-east-1:123456789012:secret:autonote/server/api-key")},
			},
			LogConfiguration: &types.LogConfiguration{LogDriver: types.LogDriverAwslogs, Options: map[string]string{
				"awslogs-group": "/ecs/autonote-server-task", "awslogs-region": "us-east-1", "awslogs-stream-prefix": "ecs"}},
		}},
	}
	in, err := ecsdeploy.NextRevision(td, []types.Tag{{Key: aws.String("managed-by"), Value: aws.String("deploy-action-bootstrap")}},
		"server", "123456789012.dkr.ecr.us-east-1.amazonaws.com/autonote/server:3484a3fb816e0859fd6e1cea078d76385ff50625")
	if err != nil {
		t.Fatal(err)
	}
	got, err := ecsdeploy.Render(in)
	if err != nil {
		t.Fatal(err)
	}
	// What is registered keeps its values; only the rendering hides them.
	if v := aws.ToString(in.ContainerDefinitions[0].Environment[0].Value); v != "3000" {
		t.Errorf("rendering changed the revision to register: PORT=%q", v)
	}
	testbed.Golden(t, filepath.Join("testdata", "taskdef.golden"), got, *update)
}
