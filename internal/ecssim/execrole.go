package ecssim

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/autonote/deploy-action/internal/awserr"
)

// readSecrets reads, as the task definition's execution role, each
// Secrets Manager secret its containers name, as ECS does before a task
// starts (with WithActingRoles; without, nothing is read). It returns the
// stop reason ECS would give a task it cannot start, "" when all are read.
// A task definition is read once.
func (s *Simulator) readSecrets(ctx context.Context, region string, td *types.TaskDefinition) string {
	arn, role := aws.ToString(td.TaskDefinitionArn), aws.ToString(td.ExecutionRoleArn)
	if s.actAs == nil || role == "" {
		return ""
	}
	s.mu.Lock()
	reason, done := s.initFailures[arn]
	s.mu.Unlock()
	if done {
		return reason
	}
	var secrets []string
	for _, c := range td.ContainerDefinitions {
		for _, sec := range c.Secrets {
			// arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME-abcdef[:KEY:STAGE:VERSION]
			p := strings.Split(aws.ToString(sec.ValueFrom), ":")
			if len(p) >= 7 && p[2] == "secretsmanager" {
				secrets = append(secrets, strings.Join(p[:7], ":"))
			}
		}
	}
	for _, secret := range secrets {
		cfg, err := s.actAs(ctx, role)
		if err != nil {
			reason = fmt.Sprintf("ResourceInitializationError: unable to assume the task execution role %s: %v", role, err)
			break
		}
		cfg.Region = region
		_, err = secretsmanager.NewFromConfig(cfg).GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(secret)})
		if err != nil {
			what := "service call failed"
			if awserr.AccessDenied(err) {
				what = "AccessDeniedException"
			}
			reason = fmt.Sprintf("ResourceInitializationError: unable to pull secrets or registry auth: execution resource retrieval failed: unable to retrieve secret from asm: %s: %v", what, err)
			break
		}
	}
	s.mu.Lock()
	s.initFailures[arn] = reason
	s.mu.Unlock()
	return reason
}
