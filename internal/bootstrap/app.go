package bootstrap

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	ecrtypes "github.com/aws/aws-sdk-go-v2/service/ecr/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
)

func (s *Stack) tagMap() map[string]string {
	return map[string]string{TagManagedBy: ManagedByValue, TagStack: s.cfg.Name}
}

func (s *Stack) taggedByUs(tags map[string]string) bool {
	return tags[TagManagedBy] == ManagedByValue && tags[TagStack] == s.cfg.Name
}

func (s *Stack) secret(kind, name string, stage int, value func() (string, error), record func(o *Outputs, arn string)) resource {
	var tagged bool
	return resource{kind: kind, name: name, stage: stage,
		find: func(ctx context.Context) (Action, string, error) {
			out, err := s.c.Secrets.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(name)})
			var nf *smtypes.ResourceNotFoundException
			if errors.As(err, &nf) {
				return Create, "", nil
			}
			if err != nil {
				return "", "", fmt.Errorf("describe secret %s: %w", name, err)
			}
			if out.DeletedDate != nil {
				return "", "", fmt.Errorf("secret %s is scheduled for deletion: restore it (aws secretsmanager restore-secret) or wait until it is gone", name)
			}
			tags := map[string]string{}
			for _, t := range out.Tags {
				tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
			}
			tagged = s.taggedByUs(tags)
			s.set(func(o *Outputs) { record(o, aws.ToString(out.ARN)) })
			return Exists, aws.ToString(out.ARN), nil
		},
		create: func(ctx context.Context) error {
			v, err := value()
			if err != nil {
				return err
			}
			var tags []smtypes.Tag
			for k, v := range s.tagMap() {
				tags = append(tags, smtypes.Tag{Key: aws.String(k), Value: aws.String(v)})
			}
			out, err := s.c.Secrets.CreateSecret(ctx, &secretsmanager.CreateSecretInput{
				Name: aws.String(name), SecretString: aws.String(v), Tags: tags,
				Description: aws.String(fmt.Sprintf("%s (%s): made by the bootstrap", kind, s.cfg.Name)),
			})
			if err != nil {
				return fmt.Errorf("create secret %s: %w", name, err)
			}
			tagged = true
			s.set(func(o *Outputs) { record(o, aws.ToString(out.ARN)) })
			return nil
		},
		destroy: func(ctx context.Context) (bool, error) {
			if !tagged {
				return false, nil
			}
			_, err := s.c.Secrets.DeleteSecret(ctx, &secretsmanager.DeleteSecretInput{SecretId: aws.String(name), ForceDeleteWithoutRecovery: aws.Bool(true)})
			return true, wrap("delete secret "+name, err)
		},
	}
}

func (s *Stack) appSecretResource() resource {
	return s.secret("app secret", s.cfg.AppSecret, 1, func() (string, error) {
		v := s.appSecret
		if len(v) == 0 {
			s.log.Warn("the app secret starts empty ({}): put the app's keys in it with aws secretsmanager put-secret-value, or give them to the bootstrap in APP_SECRET_JSON or app-secret-file", "secret", s.cfg.AppSecret)
			v = []byte("{}")
		}
		var m map[string]string
		if err := json.Unmarshal(v, &m); err != nil {
			return "", fmt.Errorf("the app secret must be a JSON object of string values (KEY: value): %w", err)
		}
		return string(v), nil
	}, func(o *Outputs, arn string) { o.AppSecretARN = arn })
}

func (s *Stack) apiKeySecret() resource {
	return s.secret("API key secret", s.cfg.APIKeySecret, 1, func() (string, error) {
		b := make([]byte, 32)
		if _, err := rand.Read(b); err != nil {
			return "", err
		}
		return hex.EncodeToString(b), nil
	}, func(o *Outputs, arn string) { o.APIKeySecretARN = arn })
}

func (s *Stack) iamTags() []iamtypes.Tag {
	var tags []iamtypes.Tag
	for k, v := range s.tagMap() {
		tags = append(tags, iamtypes.Tag{Key: aws.String(k), Value: aws.String(v)})
	}
	return tags
}

func policyDoc(statements ...map[string]any) string {
	b, _ := json.Marshal(map[string]any{"Version": "2012-10-17", "Statement": statements})
	return string(b)
}

// sameJSON compares two policy documents as data.
func sameJSON(a, b string) bool {
	var x, y any
	if json.Unmarshal([]byte(a), &x) != nil || json.Unmarshal([]byte(b), &y) != nil {
		return false
	}
	ja, _ := json.Marshal(x)
	jb, _ := json.Marshal(y)
	return string(ja) == string(jb)
}

// role is an IAM role with a trust policy, attached managed policies and
// one inline policy.
func (s *Stack) role(kind, name string, stage int, trust func() string, managed func() []string, inline func() string, inlineName string, record func(o *Outputs, arn string)) resource {
	var tagged bool
	apply := func(ctx context.Context, attached []string, haveInline string, haveTrust string) error {
		if haveTrust != "" && !sameJSON(haveTrust, trust()) {
			if _, err := s.c.IAM.UpdateAssumeRolePolicy(ctx, &iam.UpdateAssumeRolePolicyInput{RoleName: aws.String(name), PolicyDocument: aws.String(trust())}); err != nil {
				return fmt.Errorf("update trust of %s: %w", name, err)
			}
		}
		for _, p := range managed() {
			if !slices.Contains(attached, p) {
				if _, err := s.c.IAM.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: aws.String(name), PolicyArn: aws.String(p)}); err != nil {
					return fmt.Errorf("attach %s to %s: %w", p, name, err)
				}
			}
		}
		for _, p := range attached {
			if !slices.Contains(managed(), p) {
				if _, err := s.c.IAM.DetachRolePolicy(ctx, &iam.DetachRolePolicyInput{RoleName: aws.String(name), PolicyArn: aws.String(p)}); err != nil {
					return fmt.Errorf("detach %s from %s: %w", p, name, err)
				}
			}
		}
		want := inline()
		if want != "" && !sameJSON(haveInline, want) {
			if _, err := s.c.IAM.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String(name), PolicyName: aws.String(inlineName), PolicyDocument: aws.String(want)}); err != nil {
				return fmt.Errorf("put policy %s on %s: %w", inlineName, name, err)
			}
		}
		if want == "" && haveInline != "" {
			if _, err := s.c.IAM.DeleteRolePolicy(ctx, &iam.DeleteRolePolicyInput{RoleName: aws.String(name), PolicyName: aws.String(inlineName)}); err != nil {
				return fmt.Errorf("delete policy %s from %s: %w", inlineName, name, err)
			}
		}
		return nil
	}
	var attached []string
	var haveInline, haveTrust string
	return resource{kind: kind, name: name, stage: stage,
		find: func(ctx context.Context) (Action, string, error) {
			out, err := s.c.IAM.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(name)})
			var nf *iamtypes.NoSuchEntityException
			if errors.As(err, &nf) {
				return Create, "", nil
			}
			if err != nil {
				return "", "", fmt.Errorf("get role %s: %w", name, err)
			}
			tags := map[string]string{}
			for _, t := range out.Role.Tags {
				tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
			}
			tagged = s.taggedByUs(tags)
			s.set(func(o *Outputs) { record(o, aws.ToString(out.Role.Arn)) })
			haveTrust = decodePolicy(aws.ToString(out.Role.AssumeRolePolicyDocument))
			ap, err := s.c.IAM.ListAttachedRolePolicies(ctx, &iam.ListAttachedRolePoliciesInput{RoleName: aws.String(name)})
			if err != nil {
				return "", "", fmt.Errorf("list policies of %s: %w", name, err)
			}
			attached = nil
			for _, p := range ap.AttachedPolicies {
				attached = append(attached, aws.ToString(p.PolicyArn))
			}
			haveInline = ""
			if rp, err := s.c.IAM.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: aws.String(name), PolicyName: aws.String(inlineName)}); err == nil {
				haveInline = decodePolicy(aws.ToString(rp.PolicyDocument))
			} else if !errors.As(err, &nf) {
				return "", "", fmt.Errorf("get policy %s of %s: %w", inlineName, name, err)
			}
			var d []string
			if !sameJSON(haveTrust, trust()) {
				d = append(d, "trust policy differs")
			}
			for _, p := range managed() {
				if !slices.Contains(attached, p) {
					d = append(d, lastSegment(p)+" not attached")
				}
			}
			for _, p := range attached {
				if !slices.Contains(managed(), p) {
					d = append(d, lastSegment(p)+" attached but not in the config")
				}
			}
			if !sameJSON(haveInline, inline()) && !(haveInline == "" && inline() == "") {
				d = append(d, "policy "+inlineName+" differs")
			}
			if len(d) > 0 {
				return Change, strings.Join(d, "; "), nil
			}
			return Exists, aws.ToString(out.Role.Arn), nil
		},
		create: func(ctx context.Context) error {
			out, err := s.c.IAM.CreateRole(ctx, &iam.CreateRoleInput{
				RoleName: aws.String(name), AssumeRolePolicyDocument: aws.String(trust()), Tags: s.iamTags(),
				Description: aws.String(fmt.Sprintf("%s (%s): made by the bootstrap", kind, s.cfg.Name)),
			})
			if err != nil {
				return fmt.Errorf("create role %s: %w", name, err)
			}
			tagged = true
			s.set(func(o *Outputs) { record(o, aws.ToString(out.Role.Arn)) })
			return apply(ctx, nil, "", "")
		},
		fix: func(ctx context.Context) error { return apply(ctx, attached, haveInline, haveTrust) },
		destroy: func(ctx context.Context) (bool, error) {
			if !tagged {
				return false, nil
			}
			for _, p := range attached {
				if _, err := s.c.IAM.DetachRolePolicy(ctx, &iam.DetachRolePolicyInput{RoleName: aws.String(name), PolicyArn: aws.String(p)}); err != nil {
					return false, fmt.Errorf("detach %s: %w", p, err)
				}
			}
			if haveInline != "" {
				if _, err := s.c.IAM.DeleteRolePolicy(ctx, &iam.DeleteRolePolicyInput{RoleName: aws.String(name), PolicyName: aws.String(inlineName)}); err != nil {
					return false, fmt.Errorf("delete policy %s: %w", inlineName, err)
				}
			}
			_, err := s.c.IAM.DeleteRole(ctx, &iam.DeleteRoleInput{RoleName: aws.String(name)})
			return true, wrap("delete role "+name, err)
		},
	}
}

// decodePolicy undoes the URL encoding IAM returns policy documents in.
func decodePolicy(doc string) string {
	if strings.HasPrefix(doc, "%7B") || strings.HasPrefix(doc, "%7b") {
		if d, err := urlUnescape(doc); err == nil {
			return d
		}
	}
	return doc
}

func lastSegment(arn string) string { return arn[strings.LastIndex(arn, "/")+1:] }

func (s *Stack) executionRole() resource {
	return s.role("execution role", s.cfg.ExecutionRole, 2,
		func() string {
			return policyDoc(map[string]any{"Effect": "Allow", "Principal": map[string]any{"Service": "ecs-tasks.amazonaws.com"}, "Action": "sts:AssumeRole"})
		},
		func() []string {
			if s.cfg.SecretsReadWrite {
				return []string{executionPolicy, secretsRWPolicy}
			}
			return []string{executionPolicy}
		},
		func() string {
			if s.cfg.SecretsReadWrite {
				return ""
			}
			o := s.get()
			return policyDoc(map[string]any{"Effect": "Allow", "Action": []string{"secretsmanager:GetSecretValue"}, "Resource": []string{o.AppSecretARN, o.APIKeySecretARN}})
		},
		readSecretsPolicy,
		func(o *Outputs, arn string) { o.ExecutionRoleARN = arn })
}

func (s *Stack) repository() resource {
	var tagged bool
	lifecycle := func() string {
		return fmt.Sprintf(`{"rules":[{"rulePriority":1,"description":"keep the newest %d images","selection":{"tagStatus":"any","countType":"imageCountMoreThan","countNumber":%d},"action":{"type":"expire"}}]}`, s.cfg.KeepImages, s.cfg.KeepImages)
	}
	name := s.cfg.ECRRepository
	var scan, immutable, policyOK bool
	fix := func(ctx context.Context) error {
		if !scan {
			if _, err := s.c.ECR.PutImageScanningConfiguration(ctx, &ecr.PutImageScanningConfigurationInput{RepositoryName: aws.String(name), ImageScanningConfiguration: &ecrtypes.ImageScanningConfiguration{ScanOnPush: true}}); err != nil {
				return fmt.Errorf("turn on scan on push: %w", err)
			}
		}
		if !immutable {
			if _, err := s.c.ECR.PutImageTagMutability(ctx, &ecr.PutImageTagMutabilityInput{RepositoryName: aws.String(name), ImageTagMutability: ecrtypes.ImageTagMutabilityImmutable}); err != nil {
				return fmt.Errorf("make tags immutable: %w", err)
			}
		}
		if !policyOK {
			if _, err := s.c.ECR.PutLifecyclePolicy(ctx, &ecr.PutLifecyclePolicyInput{RepositoryName: aws.String(name), LifecyclePolicyText: aws.String(lifecycle())}); err != nil {
				return fmt.Errorf("put lifecycle policy: %w", err)
			}
		}
		return nil
	}
	return resource{kind: "ECR repository", name: name, stage: 1,
		find: func(ctx context.Context) (Action, string, error) {
			out, err := s.c.ECR.DescribeRepositories(ctx, &ecr.DescribeRepositoriesInput{RepositoryNames: []string{name}})
			var nf *ecrtypes.RepositoryNotFoundException
			if errors.As(err, &nf) {
				scan, immutable, policyOK = false, false, false
				return Create, "", nil
			}
			if err != nil {
				return "", "", fmt.Errorf("describe repository %s: %w", name, err)
			}
			r := out.Repositories[0]
			s.set(func(o *Outputs) {
				o.RepositoryURI, o.RepositoryARN = aws.ToString(r.RepositoryUri), aws.ToString(r.RepositoryArn)
			})
			tags, err := s.c.ECR.ListTagsForResource(ctx, &ecr.ListTagsForResourceInput{ResourceArn: r.RepositoryArn})
			if err != nil {
				return "", "", fmt.Errorf("list tags of %s: %w", name, err)
			}
			m := map[string]string{}
			for _, t := range tags.Tags {
				m[aws.ToString(t.Key)] = aws.ToString(t.Value)
			}
			tagged = s.taggedByUs(m)
			scan = r.ImageScanningConfiguration != nil && r.ImageScanningConfiguration.ScanOnPush
			immutable = r.ImageTagMutability == ecrtypes.ImageTagMutabilityImmutable
			lp, err := s.c.ECR.GetLifecyclePolicy(ctx, &ecr.GetLifecyclePolicyInput{RepositoryName: aws.String(name)})
			var lnf *ecrtypes.LifecyclePolicyNotFoundException
			switch {
			case errors.As(err, &lnf):
				policyOK = false
			case err != nil:
				return "", "", fmt.Errorf("get lifecycle policy of %s: %w", name, err)
			default:
				policyOK = sameJSON(aws.ToString(lp.LifecyclePolicyText), lifecycle())
			}
			var d []string
			if !scan {
				d = append(d, "scan on push is off")
			}
			if !immutable {
				d = append(d, "tags are mutable")
			}
			if !policyOK {
				d = append(d, fmt.Sprintf("no lifecycle rule keeping the newest %d images", s.cfg.KeepImages))
			}
			if len(d) > 0 {
				return Change, strings.Join(d, "; "), nil
			}
			return Exists, aws.ToString(r.RepositoryUri), nil
		},
		create: func(ctx context.Context) error {
			var tags []ecrtypes.Tag
			for k, v := range s.tagMap() {
				tags = append(tags, ecrtypes.Tag{Key: aws.String(k), Value: aws.String(v)})
			}
			out, err := s.c.ECR.CreateRepository(ctx, &ecr.CreateRepositoryInput{
				RepositoryName: aws.String(name), ImageTagMutability: ecrtypes.ImageTagMutabilityImmutable,
				ImageScanningConfiguration: &ecrtypes.ImageScanningConfiguration{ScanOnPush: true}, Tags: tags,
			})
			if err != nil {
				return fmt.Errorf("create repository %s: %w", name, err)
			}
			tagged, scan, immutable, policyOK = true, true, true, false
			s.set(func(o *Outputs) {
				o.RepositoryURI, o.RepositoryARN = aws.ToString(out.Repository.RepositoryUri), aws.ToString(out.Repository.RepositoryArn)
			})
			return fix(ctx)
		},
		fix: fix,
		destroy: func(ctx context.Context) (bool, error) {
			if !tagged {
				return false, nil
			}
			_, err := s.c.ECR.DeleteRepository(ctx, &ecr.DeleteRepositoryInput{RepositoryName: aws.String(name), Force: true})
			return true, wrap("delete repository "+name, err)
		},
	}
}

func (s *Stack) logGroup() resource {
	name := s.cfg.LogGroup
	var tagged bool
	retention := func(ctx context.Context) error {
		_, err := s.c.Logs.PutRetentionPolicy(ctx, &cloudwatchlogs.PutRetentionPolicyInput{LogGroupName: aws.String(name), RetentionInDays: aws.Int32(s.cfg.LogRetentionDays)})
		return wrap("set retention of "+name, err)
	}
	return resource{kind: "log group", name: name, stage: 1,
		find: func(ctx context.Context) (Action, string, error) {
			out, err := s.c.Logs.DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String(name)})
			if err != nil {
				return "", "", fmt.Errorf("describe log groups: %w", err)
			}
			for _, g := range out.LogGroups {
				if aws.ToString(g.LogGroupName) != name {
					continue
				}
				arn := strings.TrimSuffix(aws.ToString(g.Arn), ":*")
				s.set(func(o *Outputs) { o.LogGroupARN = arn })
				tags, err := s.c.Logs.ListTagsForResource(ctx, &cloudwatchlogs.ListTagsForResourceInput{ResourceArn: aws.String(arn)})
				if err != nil {
					return "", "", fmt.Errorf("list tags of %s: %w", name, err)
				}
				tagged = s.taggedByUs(tags.Tags)
				if aws.ToInt32(g.RetentionInDays) != s.cfg.LogRetentionDays {
					return Change, fmt.Sprintf("retention %d days, the config says %d", aws.ToInt32(g.RetentionInDays), s.cfg.LogRetentionDays), nil
				}
				return Exists, arn, nil
			}
			return Create, "", nil
		},
		create: func(ctx context.Context) error {
			if _, err := s.c.Logs.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String(name), Tags: s.tagMap()}); err != nil {
				return fmt.Errorf("create log group %s: %w", name, err)
			}
			tagged = true
			s.set(func(o *Outputs) {
				o.LogGroupARN = fmt.Sprintf("arn:aws:logs:%s:%s:log-group:%s", s.cfg.Region, accountOf(o.RepositoryARN), name)
			})
			return retention(ctx)
		},
		fix: retention,
		destroy: func(ctx context.Context) (bool, error) {
			if !tagged {
				return false, nil
			}
			_, err := s.c.Logs.DeleteLogGroup(ctx, &cloudwatchlogs.DeleteLogGroupInput{LogGroupName: aws.String(name)})
			return true, wrap("delete log group "+name, err)
		},
	}
}

func accountOf(arn string) string {
	if p := strings.Split(arn, ":"); len(p) > 4 {
		return p[4]
	}
	return ""
}

func (s *Stack) ecsTags() []ecstypes.Tag {
	var tags []ecstypes.Tag
	for k, v := range s.tagMap() {
		tags = append(tags, ecstypes.Tag{Key: aws.String(k), Value: aws.String(v)})
	}
	slices.SortFunc(tags, func(a, b ecstypes.Tag) int { return strings.Compare(*a.Key, *b.Key) })
	return tags
}

func ecsTagged(s *Stack, tags []ecstypes.Tag) bool {
	m := map[string]string{}
	for _, t := range tags {
		m[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	return s.taggedByUs(m)
}

func (s *Stack) cluster() resource {
	name := s.cfg.Cluster
	var tagged bool
	providers := func(ctx context.Context) error {
		_, err := s.c.ECS.PutClusterCapacityProviders(ctx, &ecs.PutClusterCapacityProvidersInput{
			Cluster: aws.String(name), CapacityProviders: []string{"FARGATE", "FARGATE_SPOT"},
			DefaultCapacityProviderStrategy: []ecstypes.CapacityProviderStrategyItem{{CapacityProvider: aws.String("FARGATE"), Weight: 1}},
		})
		return wrap("set the capacity providers of "+name, err)
	}
	return resource{kind: "ECS cluster", name: name, stage: 1,
		find: func(ctx context.Context) (Action, string, error) {
			out, err := s.c.ECS.DescribeClusters(ctx, &ecs.DescribeClustersInput{Clusters: []string{name}, Include: []ecstypes.ClusterField{ecstypes.ClusterFieldTags}})
			if err != nil {
				return "", "", fmt.Errorf("describe cluster %s: %w", name, err)
			}
			for _, c := range out.Clusters {
				if aws.ToString(c.Status) != "ACTIVE" {
					continue
				}
				s.set(func(o *Outputs) { o.ClusterARN = aws.ToString(c.ClusterArn) })
				tagged = ecsTagged(s, c.Tags)
				if !slices.Contains(c.CapacityProviders, "FARGATE") {
					return Change, "no FARGATE capacity provider", nil
				}
				return Exists, aws.ToString(c.ClusterArn), nil
			}
			return Create, "", nil
		},
		create: func(ctx context.Context) error {
			out, err := s.c.ECS.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String(name), Tags: s.ecsTags(),
				Settings: []ecstypes.ClusterSetting{{Name: ecstypes.ClusterSettingNameContainerInsights, Value: aws.String("enabled")}}})
			if err != nil {
				return fmt.Errorf("create cluster %s: %w", name, err)
			}
			tagged = true
			s.set(func(o *Outputs) { o.ClusterARN = aws.ToString(out.Cluster.ClusterArn) })
			return providers(ctx)
		},
		fix: providers,
		destroy: func(ctx context.Context) (bool, error) {
			if !tagged {
				return false, nil
			}
			_, err := s.c.ECS.DeleteCluster(ctx, &ecs.DeleteClusterInput{Cluster: aws.String(name)})
			return true, wrap("delete cluster "+name, err)
		},
	}
}

func (s *Stack) taskDefinition() resource {
	var arns []string
	var tagged bool
	return resource{kind: "task definition", name: s.cfg.Family, stage: 3,
		find: func(ctx context.Context) (Action, string, error) {
			out, err := s.c.ECS.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(s.cfg.Family), Include: []ecstypes.TaskDefinitionField{ecstypes.TaskDefinitionFieldTags}})
			if err != nil {
				var ce *ecstypes.ClientException
				if errors.As(err, &ce) {
					return Create, "", nil
				}
				return "", "", fmt.Errorf("describe task definition %s: %w", s.cfg.Family, err)
			}
			if out.TaskDefinition.Status != ecstypes.TaskDefinitionStatusActive {
				return Create, "", nil // only deregistered revisions are left
			}
			tagged = ecsTagged(s, out.Tags)
			s.set(func(o *Outputs) { o.TaskDefinitionARN = aws.ToString(out.TaskDefinition.TaskDefinitionArn) })
			// Deploys register new revisions of it: the bootstrap never
			// changes a revision it finds.
			return Exists, aws.ToString(out.TaskDefinition.TaskDefinitionArn), nil
		},
		create: func(ctx context.Context) error {
			o := s.get()
			out, err := s.c.ECS.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{
				Family: aws.String(s.cfg.Family), RequiresCompatibilities: []ecstypes.Compatibility{ecstypes.CompatibilityFargate},
				NetworkMode: ecstypes.NetworkModeAwsvpc, Cpu: aws.String(s.cfg.CPU), Memory: aws.String(s.cfg.Memory),
				ExecutionRoleArn: aws.String(o.ExecutionRoleARN), Tags: s.ecsTags(),
				RuntimePlatform: &ecstypes.RuntimePlatform{CpuArchitecture: ecstypes.CPUArchitectureX8664, OperatingSystemFamily: ecstypes.OSFamilyLinux},
				ContainerDefinitions: []ecstypes.ContainerDefinition{{
					Name: aws.String(s.cfg.Container), Image: aws.String(o.RepositoryURI + ":" + placeholderTag), Essential: aws.Bool(true),
					PortMappings: []ecstypes.PortMapping{{ContainerPort: aws.Int32(s.cfg.ContainerPort), Protocol: ecstypes.TransportProtocolTcp}},
					Environment:  []ecstypes.KeyValuePair{{Name: aws.String("PORT"), Value: aws.String(fmt.Sprint(s.cfg.ContainerPort))}},
					Secrets: []ecstypes.Secret{
						{Name: aws.String("APP_ENV_JSON"), ValueFrom: aws.String(o.AppSecretARN)},
						{Name: aws.String("API_KEY"), ValueFrom: aws.String(o.APIKeySecretARN)},
					},
					LogConfiguration: &ecstypes.LogConfiguration{LogDriver: ecstypes.LogDriverAwslogs, Options: map[string]string{
						"awslogs-group": s.cfg.LogGroup, "awslogs-region": s.cfg.Region, "awslogs-stream-prefix": "ecs",
					}},
				}},
			})
			if err != nil {
				return fmt.Errorf("register task definition %s: %w", s.cfg.Family, err)
			}
			tagged = true
			s.set(func(o *Outputs) { o.TaskDefinitionARN = aws.ToString(out.TaskDefinition.TaskDefinitionArn) })
			return nil
		},
		destroy: func(ctx context.Context) (bool, error) {
			if !tagged {
				return false, nil
			}
			list, err := s.c.ECS.ListTaskDefinitions(ctx, &ecs.ListTaskDefinitionsInput{FamilyPrefix: aws.String(s.cfg.Family), Status: ecstypes.TaskDefinitionStatusActive})
			if err != nil {
				return false, fmt.Errorf("list revisions of %s: %w", s.cfg.Family, err)
			}
			arns = list.TaskDefinitionArns
			for _, arn := range arns {
				if _, err := s.c.ECS.DeregisterTaskDefinition(ctx, &ecs.DeregisterTaskDefinitionInput{TaskDefinition: aws.String(arn)}); err != nil {
					return false, fmt.Errorf("deregister %s: %w", arn, err)
				}
			}
			return true, nil
		},
	}
}

func (s *Stack) service() resource {
	name := s.cfg.Service
	var tagged, found bool
	return resource{kind: "ECS service", name: name, stage: 4,
		find: func(ctx context.Context) (Action, string, error) {
			if s.get().ClusterARN == "" {
				return Create, "", nil
			}
			out, err := s.c.ECS.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(s.cfg.Cluster), Services: []string{name}, Include: []ecstypes.ServiceField{ecstypes.ServiceFieldTags}})
			if err != nil {
				return "", "", fmt.Errorf("describe service %s: %w", name, err)
			}
			for _, sv := range out.Services {
				if aws.ToString(sv.Status) == "ACTIVE" {
					found = true
					tagged = ecsTagged(s, sv.Tags)
					s.set(func(o *Outputs) { o.ServiceARN = aws.ToString(sv.ServiceArn) })
					return Exists, aws.ToString(sv.ServiceArn), nil
				}
			}
			return Create, "", nil
		},
		create: func(ctx context.Context) error {
			o := s.get()
			// The placeholder image does not exist yet: the service starts
			// at zero tasks, and the first deploy scales it to desired-count,
			// which it reads from this tag.
			tags := append(s.ecsTags(), ecstypes.Tag{Key: aws.String(TagDesiredCount), Value: aws.String(fmt.Sprint(s.cfg.DesiredCount))})
			out, err := s.c.ECS.CreateService(ctx, &ecs.CreateServiceInput{
				Cluster: aws.String(s.cfg.Cluster), ServiceName: aws.String(name), TaskDefinition: aws.String(o.TaskDefinitionARN),
				DesiredCount: aws.Int32(0), LaunchType: ecstypes.LaunchTypeFargate, Tags: tags, PropagateTags: ecstypes.PropagateTagsService,
				NetworkConfiguration: &ecstypes.NetworkConfiguration{AwsvpcConfiguration: &ecstypes.AwsVpcConfiguration{
					Subnets: o.PublicSubnetIDs, SecurityGroups: []string{o.SecurityGroupID}, AssignPublicIp: ecstypes.AssignPublicIpEnabled,
				}},
				DeploymentConfiguration: &ecstypes.DeploymentConfiguration{
					DeploymentCircuitBreaker: &ecstypes.DeploymentCircuitBreaker{Enable: true, Rollback: true},
					MaximumPercent:           aws.Int32(200), MinimumHealthyPercent: aws.Int32(100),
				},
			})
			if err != nil {
				return fmt.Errorf("create service %s: %w", name, err)
			}
			found, tagged = true, true
			s.set(func(o *Outputs) { o.ServiceARN = aws.ToString(out.Service.ServiceArn) })
			return nil
		},
		destroy: func(ctx context.Context) (bool, error) {
			if !found || !tagged {
				return false, nil
			}
			_, err := s.c.ECS.DeleteService(ctx, &ecs.DeleteServiceInput{Cluster: aws.String(s.cfg.Cluster), Service: aws.String(name), Force: aws.Bool(true)})
			return true, wrap("delete service "+name, err)
		},
	}
}
