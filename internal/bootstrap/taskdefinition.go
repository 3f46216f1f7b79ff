package bootstrap

import (
	"context"
	"errors"
	"fmt"

	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
)

// taskDefinition is the family the service runs. Deploys register its new
// revisions: the bootstrap never changes a revision it finds.
type taskDefinition struct{ s *Stack }

func (t *taskDefinition) describe() (string, string) {
	if td := t.s.found.taskDef; td != nil {
		return "task definition", aws.ToString(td.Family)
	}
	return "task definition", t.s.cfg.Family
}
func (t *taskDefinition) stage() int { return 3 }

func (t *taskDefinition) find(ctx context.Context) (found, error) {
	s := t.s
	td, tags := s.found.taskDef, s.found.taskDefTags
	if td == nil {
		out, err := s.c.ECS.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(s.cfg.Family), Include: []ecstypes.TaskDefinitionField{ecstypes.TaskDefinitionFieldTags}})
		var ce *ecstypes.ClientException
		if errors.As(err, &ce) {
			return found{}, nil
		}
		if err != nil {
			return found{}, fmt.Errorf("describe task definition %s: %w", s.cfg.Family, err)
		}
		if out.TaskDefinition.Status != ecstypes.TaskDefinitionStatusActive {
			return found{}, nil // only deregistered revisions are left
		}
		td, tags = out.TaskDefinition, out.Tags
	}
	arn := aws.ToString(td.TaskDefinitionArn)
	s.set(func(o *Outputs) {
		o.TaskDefinitionARN = arn
		if r := aws.ToString(td.TaskRoleArn); r != "" {
			o.TaskRoleARN = r
		}
	})
	f := found{owner: s.owner(ecsTag.of(tags)), whose: whoseOf(ecsTag.of(tags), s.cfg.Name), id: arn}
	if f.owner == OwnerUs {
		f.advice = sizeAdvice(td, s.cfg.CPU, s.cfg.Memory)
	}
	return f, nil
}

// sizeAdvice says when the revision the stack runs is not of the config's
// task size: a revision is never changed, and deploys register theirs from
// the running one, so a new size in the config reaches no task by itself.
func sizeAdvice(td *ecstypes.TaskDefinition, cpu, memory string) []string {
	have, haveMem := aws.ToString(td.Cpu), aws.ToString(td.Memory)
	if have == cpu && haveMem == memory {
		return nil
	}
	return []string{fmt.Sprintf("revision %s runs cpu %s and memory %s, the config says cpu %s and memory %s: the bootstrap changes no revision, and deploys copy the running one, so the new size reaches no task by itself; register a revision of that size (aws ecs register-task-definition, from aws ecs describe-task-definition --task-definition %s) and deploy it with the action's task-definition input",
		lastSegment(aws.ToString(td.TaskDefinitionArn)), have, haveMem, cpu, memory, aws.ToString(td.Family))}
}

// containerSecrets injects the app secret one variable per JSON key
// (valueFrom <arn>:KEY::) and the API key as API_KEY.
func containerSecrets(appARN string, keys []string, apiKeyARN string) []ecstypes.Secret {
	var out []ecstypes.Secret
	for _, k := range keys {
		if k == "API_KEY" || k == "PORT" {
			continue // the bootstrap's own variables win
		}
		out = append(out, ecstypes.Secret{Name: aws.String(k), ValueFrom: aws.String(appARN + ":" + k + "::")})
	}
	return append(out, ecstypes.Secret{Name: aws.String("API_KEY"), ValueFrom: aws.String(apiKeyARN)})
}

// appSecretKeys are the keys of the app's environment: those given to the
// bootstrap, else those of the secret as it is (read, never logged).
func (s *Stack) appSecretKeys(ctx context.Context, arn string) ([]string, error) {
	if len(s.appSecret) > 0 {
		return appKeys(s.appSecret)
	}
	out, err := s.c.Secrets.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(arn)})
	if err != nil {
		return nil, fmt.Errorf("read the keys of secret %s: %w", arn, err)
	}
	return appKeys([]byte(aws.ToString(out.SecretString)))
}

func (t *taskDefinition) create(ctx context.Context) (string, error) {
	s := t.s
	o := s.get()
	keys, err := s.appSecretKeys(ctx, o.AppSecretARN)
	if err != nil {
		return "", err
	}
	out, err := s.c.ECS.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{
		Family: aws.String(s.cfg.Family), RequiresCompatibilities: []ecstypes.Compatibility{ecstypes.CompatibilityFargate},
		NetworkMode: ecstypes.NetworkModeAwsvpc, Cpu: aws.String(s.cfg.CPU), Memory: aws.String(s.cfg.Memory),
		ExecutionRoleArn: aws.String(o.ExecutionRoleARN), Tags: ecsTag.list(s.tagMap()),
		RuntimePlatform: &ecstypes.RuntimePlatform{CpuArchitecture: ecstypes.CPUArchitectureX8664, OperatingSystemFamily: ecstypes.OSFamilyLinux},
		ContainerDefinitions: []ecstypes.ContainerDefinition{{
			Name: aws.String(s.cfg.Container), Image: aws.String(o.RepositoryURI + ":" + placeholderTag), Essential: aws.Bool(true),
			PortMappings: []ecstypes.PortMapping{{ContainerPort: aws.Int32(s.cfg.ContainerPort), Protocol: ecstypes.TransportProtocolTcp}},
			Environment:  []ecstypes.KeyValuePair{{Name: aws.String("PORT"), Value: aws.String(fmt.Sprint(s.cfg.ContainerPort))}},
			Secrets:      containerSecrets(o.AppSecretARN, keys, o.APIKeySecretARN),
			LogConfiguration: &ecstypes.LogConfiguration{LogDriver: ecstypes.LogDriverAwslogs, Options: map[string]string{
				"awslogs-group": s.cfg.LogGroup, "awslogs-region": s.cfg.Region, "awslogs-stream-prefix": "ecs",
			}},
		}},
	})
	if err != nil {
		return "", fmt.Errorf("register task definition %s: %w", s.cfg.Family, err)
	}
	s.set(func(o *Outputs) { o.TaskDefinitionARN = aws.ToString(out.TaskDefinition.TaskDefinitionArn) })
	return t.s.get().TaskDefinitionARN, nil
}

func (t *taskDefinition) change(context.Context) error { return nil }

func (t *taskDefinition) destroy(ctx context.Context) error {
	_, family := t.describe()
	list, err := t.s.c.ECS.ListTaskDefinitions(ctx, &ecs.ListTaskDefinitionsInput{FamilyPrefix: aws.String(family), Status: ecstypes.TaskDefinitionStatusActive})
	if err != nil {
		return fmt.Errorf("list revisions of %s: %w", family, err)
	}
	for _, arn := range list.TaskDefinitionArns {
		if _, err := t.s.c.ECS.DeregisterTaskDefinition(ctx, &ecs.DeregisterTaskDefinitionInput{TaskDefinition: aws.String(arn)}); err != nil {
			return fmt.Errorf("deregister %s: %w", arn, err)
		}
	}
	return nil
}
