package bootstrap

import (
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// executionRole is the role ECS pulls images, writes logs and reads
// secrets with: the one the running task definition names, else the config's.
func (s *Stack) executionRole() *role {
	name := s.cfg.ExecutionRole
	if td := s.found.taskDef; td != nil && aws.ToString(td.ExecutionRoleArn) != "" {
		name = roleName(aws.ToString(td.ExecutionRoleArn))
	}
	r := &role{s: s, kind: "execution role", key: "execution-role", name: name, stg: 2, inlineName: readSecretsPolicy, stackInlineName: s.stackPolicyName(readSecretsPolicy), bounded: true,
		record: func(o *Outputs, arn string) { o.ExecutionRoleARN = arn }}
	r.trust = func() string {
		return policyDoc(map[string]any{"Effect": "Allow", "Principal": map[string]any{"Service": "ecs-tasks.amazonaws.com"}, "Action": "sts:AssumeRole"})
	}
	r.managed = func() []string {
		if s.cfg.SecretsReadWrite {
			return []string{executionPolicy, secretsRWPolicy}
		}
		return []string{executionPolicy}
	}
	r.inline = func() string {
		if s.cfg.SecretsReadWrite {
			return ""
		}
		return readSecrets(s.secretARNs(false))
	}
	r.adopted = func() string {
		// What the role reads already (SecretsManagerReadWrite, or the
		// policy the bootstrap wrote) needs no addition.
		var need []string
		for _, arn := range s.secretARNs(true) {
			if !slices.Contains(r.attached, secretsRWPolicy) && !grants(r.haveInline, "secretsmanager:GetSecretValue", arn) &&
				!grants(r.haveStackInline, "secretsmanager:GetSecretValue", arn) {
				need = append(need, arn)
			}
		}
		if len(need) == 0 {
			return ""
		}
		return readSecrets(s.secretARNs(true))
	}
	return r
}

func readSecrets(arns []string) string {
	if len(arns) == 0 {
		return ""
	}
	return policyDoc(map[string]any{"Effect": "Allow", "Action": []string{"secretsmanager:GetSecretValue"}, "Resource": arns})
}
