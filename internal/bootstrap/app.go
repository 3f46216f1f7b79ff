package bootstrap

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/autonote/deploy-action/internal/ecsdeploy"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	ecrtypes "github.com/aws/aws-sdk-go-v2/service/ecr/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
)

func (s *Stack) tagMap() map[string]string {
	return map[string]string{TagManagedBy: ManagedByValue, TagStack: s.cfg.Name}
}

// owner is OwnerUs for a resource with our tags, else OwnerAdopted.
func (s *Stack) owner(tags map[string]string) Owner {
	if tags[TagManagedBy] == ManagedByValue && tags[TagStack] == s.cfg.Name {
		return OwnerUs
	}
	return OwnerAdopted
}

// secret is a Secrets Manager secret the task reads.
type secret struct {
	s          *Stack
	kind, name string
	arn        string
}

func (x *secret) describe() (string, string) { return x.kind, x.name }
func (x *secret) stage() int                 { return 1 }

// lookup describes the secret named or with ARN id; ok is false when
// there is none.
func (x *secret) lookup(ctx context.Context, id string) (f found, ok bool, err error) {
	out, err := x.s.c.Secrets.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(id)})
	var nf *smtypes.ResourceNotFoundException
	if errors.As(err, &nf) {
		return found{}, false, nil
	}
	if err != nil {
		return found{}, false, fmt.Errorf("describe secret %s: %w", id, err)
	}
	if out.DeletedDate != nil {
		return found{}, false, fmt.Errorf("secret %s is scheduled for deletion: restore it (aws secretsmanager restore-secret --secret-id %s) or wait until it is gone", id, id)
	}
	tags := map[string]string{}
	for _, t := range out.Tags {
		tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	x.arn, x.name = aws.ToString(out.ARN), aws.ToString(out.Name)
	f = found{owner: x.s.owner(tags), id: x.arn}
	if f.owner == OwnerUs {
		x.s.markOurs(x.arn)
	}
	return f, true, nil
}

// findFor finds the secret by its configured name, else the one the running
// task definition reads for one of vars; without either it is made only
// for a task definition the bootstrap makes.
func (x *secret) findFor(ctx context.Context, vars func(name string) bool) (found, error) {
	if f, ok, err := x.lookup(ctx, x.name); ok || err != nil {
		return f, err
	}
	b := x.s.found
	if b.taskDef == nil {
		return found{}, nil
	}
	refs := b.secretRefs()
	for _, v := range slices.Sorted(maps.Keys(refs)) {
		if vars(v) {
			if f, ok, err := x.lookup(ctx, refs[v]); ok || err != nil {
				return f, err
			}
		}
	}
	return found{skip: "the task definition the service runs reads no such secret; the bootstrap makes secrets only for a task definition it makes"}, nil
}

func (x *secret) make(ctx context.Context, value string) error {
	s := x.s
	var tags []smtypes.Tag
	for k, v := range s.tagMap() {
		tags = append(tags, smtypes.Tag{Key: aws.String(k), Value: aws.String(v)})
	}
	out, err := s.c.Secrets.CreateSecret(ctx, &secretsmanager.CreateSecretInput{
		Name: aws.String(x.name), SecretString: aws.String(value), Tags: tags,
		Description: aws.String(fmt.Sprintf("%s (%s): made by the bootstrap", x.kind, s.cfg.Name)),
	})
	if err != nil {
		return fmt.Errorf("create secret %s: %w", x.name, err)
	}
	x.arn = aws.ToString(out.ARN)
	s.markOurs(x.arn)
	return nil
}

func (x *secret) change(context.Context) error { return nil }

// destroy schedules the secret's deletion after Secrets Manager's recovery
// window, unless the stack was told to force it.
func (x *secret) destroy(ctx context.Context) error {
	in := &secretsmanager.DeleteSecretInput{SecretId: aws.String(x.arn), RecoveryWindowInDays: aws.Int64(secretRecoveryDays)}
	if x.s.forceDeleteSecrets {
		in = &secretsmanager.DeleteSecretInput{SecretId: aws.String(x.arn), ForceDeleteWithoutRecovery: aws.Bool(true)}
	}
	_, err := x.s.c.Secrets.DeleteSecret(ctx, in)
	return wrap("delete secret "+x.name, err)
}

// secretRecoveryDays is how long a destroyed secret can be restored.
const secretRecoveryDays = 7

func (x *secret) deletedNote() string {
	if x.s.forceDeleteSecrets {
		return "deleted at once, without a recovery window"
	}
	return fmt.Sprintf("recoverable for %d days: aws secretsmanager restore-secret --secret-id %s (apply waits until then)", secretRecoveryDays, x.name)
}

// appSecret holds the app's environment, a JSON object of keys.
type appSecret struct{ secret }

func (x *appSecret) find(ctx context.Context) (found, error) {
	f, err := x.findFor(ctx, func(v string) bool { return v != "API_KEY" })
	x.s.set(func(o *Outputs) { o.AppSecretARN = x.arn })
	if err != nil || f.owner == OwnerNone || len(x.s.appSecret) == 0 {
		return f, err
	}
	// The app's environment given again (APP_SECRET_JSON) is the value the
	// secret should hold: a new one is a change, never silently ignored.
	out, err := x.s.c.Secrets.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(x.arn)})
	if err != nil {
		return f, fmt.Errorf("read secret %s to compare it with APP_SECRET_JSON: %w", x.name, err)
	}
	if d := keyDiff([]byte(aws.ToString(out.SecretString)), x.s.appSecret); d != "" {
		x.s.sortDrift(&f, "app-secret", []drift{{
			what: "value differs from APP_SECRET_JSON (" + d + "); tasks read it when they start, so redeploy after apply (command: redeploy), and a key added reaches the app once a revision names it (valueFrom <arn>:KEY::)",
			fix:  "aws secretsmanager put-secret-value --secret-id " + x.name + " --secret-string file://app-secret.json",
		}})
	}
	return f, nil
}

// change writes the app's environment given to the bootstrap into the
// secret, as a new version.
func (x *appSecret) change(ctx context.Context) error {
	_, err := x.s.c.Secrets.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: aws.String(x.arn), SecretString: aws.String(string(x.s.appSecret))})
	return wrap("put secret value "+x.name, err)
}

// keyDiff says, by key name only, how the app environment want differs
// from have: "" when they hold the same keys and values.
func keyDiff(have, want []byte) string {
	var h, w map[string]string
	if json.Unmarshal(have, &h) != nil {
		return "the secret is not a JSON object of strings"
	}
	if json.Unmarshal(want, &w) != nil {
		return "APP_SECRET_JSON is not a JSON object of strings"
	}
	var added, removed, changed []string
	for k, v := range w {
		switch old, ok := h[k]; {
		case !ok:
			added = append(added, k)
		case old != v:
			changed = append(changed, k)
		}
	}
	for k := range h {
		if _, ok := w[k]; !ok {
			removed = append(removed, k)
		}
	}
	var parts []string
	for _, p := range []struct {
		verb string
		keys []string
	}{{"adds", added}, {"changes", changed}, {"removes", removed}} {
		if len(p.keys) > 0 {
			slices.Sort(p.keys)
			parts = append(parts, p.verb+" "+strings.Join(p.keys, ", "))
		}
	}
	return strings.Join(parts, "; ")
}

func (x *appSecret) create(ctx context.Context) (string, error) {
	s := x.s
	v := s.appSecret
	if len(v) == 0 {
		s.log.Warn("the app secret starts empty ({}): put the app's keys in it with aws secretsmanager put-secret-value, or give them to the bootstrap in APP_SECRET_JSON or app-secret-file", "secret", x.name)
		v = []byte("{}")
	}
	if _, err := appKeys(v); err != nil {
		return "", err
	}
	if err := x.make(ctx, string(v)); err != nil {
		return "", err
	}
	s.set(func(o *Outputs) { o.AppSecretARN = x.arn })
	return x.arn, nil
}

// CheckAppSecret checks the app's environment given to the bootstrap (from
// APP_SECRET_JSON or app-secret-file) before anything is made: a JSON
// object of string values, or nothing.
func CheckAppSecret(v []byte) error {
	if len(v) == 0 {
		return nil
	}
	_, err := appKeys(v)
	return err
}

// appKeys are the keys of the app's environment, sorted.
func appKeys(v []byte) ([]string, error) {
	var m map[string]string
	if err := json.Unmarshal(v, &m); err != nil {
		return nil, fmt.Errorf("the app secret must be a JSON object of string values (KEY: value): %w", err)
	}
	return slices.Sorted(maps.Keys(m)), nil
}

// apiKeySecret holds the key the app checks in X-API-KEY.
type apiKeySecret struct{ secret }

func (x *apiKeySecret) find(ctx context.Context) (found, error) {
	f, err := x.findFor(ctx, func(v string) bool { return v == "API_KEY" })
	x.s.set(func(o *Outputs) { o.APIKeySecretARN = x.arn })
	return f, err
}

func (x *apiKeySecret) create(ctx context.Context) (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	if err := x.make(ctx, hex.EncodeToString(b)); err != nil {
		return "", err
	}
	x.s.set(func(o *Outputs) { o.APIKeySecretARN = x.arn })
	return x.arn, nil
}

// repository is the ECR repository of the app's images: the one the
// running task definition pulls from, else the config's.
type repository struct {
	s    *Stack
	name string
	// To do on ours.
	scanOff, mutable, noLifecycle bool
}

func (r *repository) describe() (string, string) { return "ECR repository", r.repoName() }
func (r *repository) stage() int                 { return 1 }

func (r *repository) repoName() string {
	if c := r.s.found.container; c != nil {
		if n := repositoryOf(aws.ToString(c.Image)); n != "" {
			return n
		}
	}
	return r.s.cfg.ECRRepository
}

func (r *repository) lifecycle() string {
	n := r.s.cfg.KeepImages
	return fmt.Sprintf(`{"rules":[{"rulePriority":1,"description":"keep the newest %d images","selection":{"tagStatus":"any","countType":"imageCountMoreThan","countNumber":%d},"action":{"type":"expire"}}]}`, n, n)
}

func (r *repository) find(ctx context.Context) (found, error) {
	s := r.s
	r.name = r.repoName()
	out, err := s.c.ECR.DescribeRepositories(ctx, &ecr.DescribeRepositoriesInput{RepositoryNames: []string{r.name}})
	var nf *ecrtypes.RepositoryNotFoundException
	if errors.As(err, &nf) {
		return found{}, nil
	}
	if err != nil {
		return found{}, fmt.Errorf("describe repository %s: %w", r.name, err)
	}
	repo := out.Repositories[0]
	s.set(func(o *Outputs) {
		o.RepositoryURI, o.RepositoryARN = aws.ToString(repo.RepositoryUri), aws.ToString(repo.RepositoryArn)
	})
	tags, err := s.c.ECR.ListTagsForResource(ctx, &ecr.ListTagsForResourceInput{ResourceArn: repo.RepositoryArn})
	if err != nil {
		return found{}, fmt.Errorf("list tags of %s: %w", r.name, err)
	}
	m := map[string]string{}
	for _, t := range tags.Tags {
		m[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	f := found{owner: s.owner(m), id: aws.ToString(repo.RepositoryUri)}
	scanOff := repo.ImageScanningConfiguration == nil || !repo.ImageScanningConfiguration.ScanOnPush
	mutable := repo.ImageTagMutability != ecrtypes.ImageTagMutabilityImmutable
	lp, err := s.c.ECR.GetLifecyclePolicy(ctx, &ecr.GetLifecyclePolicyInput{RepositoryName: aws.String(r.name)})
	var lnf *ecrtypes.LifecyclePolicyNotFoundException
	noLifecycle := false
	switch {
	case errors.As(err, &lnf):
		noLifecycle = true
	case err != nil:
		return f, fmt.Errorf("get lifecycle policy of %s: %w", r.name, err)
	default:
		noLifecycle = !samePolicy(aws.ToString(lp.LifecyclePolicyText), r.lifecycle())
	}
	var ds []drift
	if scanOff {
		ds = append(ds, drift{"scan on push is off", "aws ecr put-image-scanning-configuration --repository-name " + r.name + " --image-scanning-configuration scanOnPush=true"})
	}
	if mutable {
		ds = append(ds, drift{"tags are mutable (a tag may come to name another build)", "aws ecr put-image-tag-mutability --repository-name " + r.name + " --image-tag-mutability IMMUTABLE"})
	}
	if noLifecycle {
		ds = append(ds, drift{fmt.Sprintf("no lifecycle rule keeping the newest %d images", s.cfg.KeepImages),
			"such a rule expires older images, and with them every rollback by SHA to those builds: set keep-images to what you want to keep"})
	}
	if s.sortDrift(&f, "repository", ds) {
		r.scanOff, r.mutable, r.noLifecycle = scanOff, mutable, noLifecycle
	}
	return f, nil
}

func (r *repository) create(ctx context.Context) (string, error) {
	s := r.s
	r.name = r.repoName()
	var tags []ecrtypes.Tag
	for k, v := range s.tagMap() {
		tags = append(tags, ecrtypes.Tag{Key: aws.String(k), Value: aws.String(v)})
	}
	out, err := s.c.ECR.CreateRepository(ctx, &ecr.CreateRepositoryInput{
		RepositoryName: aws.String(r.name), ImageTagMutability: ecrtypes.ImageTagMutabilityImmutable,
		ImageScanningConfiguration: &ecrtypes.ImageScanningConfiguration{ScanOnPush: true}, Tags: tags,
	})
	if err != nil {
		return "", fmt.Errorf("create repository %s: %w", r.name, err)
	}
	s.set(func(o *Outputs) {
		o.RepositoryURI, o.RepositoryARN = aws.ToString(out.Repository.RepositoryUri), aws.ToString(out.Repository.RepositoryArn)
	})
	r.scanOff, r.mutable, r.noLifecycle = false, false, true
	if err := r.change(ctx); err != nil {
		return "", err
	}
	return r.s.get().RepositoryURI, nil
}

func (r *repository) change(ctx context.Context) error {
	c, name := r.s.c.ECR, aws.String(r.name)
	if r.scanOff {
		if _, err := c.PutImageScanningConfiguration(ctx, &ecr.PutImageScanningConfigurationInput{RepositoryName: name, ImageScanningConfiguration: &ecrtypes.ImageScanningConfiguration{ScanOnPush: true}}); err != nil {
			return fmt.Errorf("turn on scan on push: %w", err)
		}
	}
	if r.mutable {
		if _, err := c.PutImageTagMutability(ctx, &ecr.PutImageTagMutabilityInput{RepositoryName: name, ImageTagMutability: ecrtypes.ImageTagMutabilityImmutable}); err != nil {
			return fmt.Errorf("make tags immutable: %w", err)
		}
	}
	if r.noLifecycle {
		if _, err := c.PutLifecyclePolicy(ctx, &ecr.PutLifecyclePolicyInput{RepositoryName: name, LifecyclePolicyText: aws.String(r.lifecycle())}); err != nil {
			return fmt.Errorf("put lifecycle policy: %w", err)
		}
	}
	return nil
}

func (r *repository) destroy(ctx context.Context) error {
	_, err := r.s.c.ECR.DeleteRepository(ctx, &ecr.DeleteRepositoryInput{RepositoryName: aws.String(r.name), Force: true})
	return wrap("delete repository "+r.name, err)
}

// logGroup receives the app's logs: the one the running task definition
// writes to, else the config's.
type logGroup struct {
	s         *Stack
	retention bool // to set
}

func (g *logGroup) describe() (string, string) { return "log group", g.groupName() }
func (g *logGroup) stage() int                 { return 1 }

func (g *logGroup) groupName() string {
	if c := g.s.found.container; c != nil && c.LogConfiguration != nil && c.LogConfiguration.Options["awslogs-group"] != "" {
		return c.LogConfiguration.Options["awslogs-group"]
	}
	return g.s.cfg.LogGroup
}

func (g *logGroup) find(ctx context.Context) (found, error) {
	s, name := g.s, g.groupName()
	out, err := s.c.Logs.DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String(name)})
	if err != nil {
		return found{}, fmt.Errorf("describe log groups: %w", err)
	}
	for _, lg := range out.LogGroups {
		if aws.ToString(lg.LogGroupName) != name {
			continue
		}
		arn := strings.TrimSuffix(aws.ToString(lg.Arn), ":*")
		s.set(func(o *Outputs) { o.LogGroupARN = arn })
		tags, err := s.c.Logs.ListTagsForResource(ctx, &cloudwatchlogs.ListTagsForResourceInput{ResourceArn: aws.String(arn)})
		if err != nil {
			return found{}, fmt.Errorf("list tags of %s: %w", name, err)
		}
		f := found{owner: s.owner(tags.Tags), id: arn}
		var ds []drift
		if have := aws.ToInt32(lg.RetentionInDays); have != s.cfg.LogRetentionDays {
			what := fmt.Sprintf("retention %d days, the config says %d", have, s.cfg.LogRetentionDays)
			if have == 0 {
				what = fmt.Sprintf("no retention (logs are kept, and paid for, forever), the config says %d days", s.cfg.LogRetentionDays)
			}
			ds = append(ds, drift{what, fmt.Sprintf("aws logs put-retention-policy --log-group-name %s --retention-in-days %d", name, s.cfg.LogRetentionDays)})
		}
		g.retention = s.sortDrift(&f, "log-group", ds) && len(ds) > 0
		return f, nil
	}
	return found{}, nil
}

func (g *logGroup) create(ctx context.Context) (string, error) {
	s, name := g.s, g.groupName()
	if _, err := s.c.Logs.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String(name), Tags: s.tagMap()}); err != nil {
		return "", fmt.Errorf("create log group %s: %w", name, err)
	}
	// CreateLogGroup answers nothing: its ARN (with the account, which no
	// other resource of this stage may know yet) comes from describing it.
	if _, err := g.find(ctx); err != nil {
		return "", err
	}
	if g.s.get().LogGroupARN == "" {
		return "", fmt.Errorf("log group %s was created but is not listed yet: run apply again", name)
	}
	g.retention = true
	if err := g.change(ctx); err != nil {
		return "", err
	}
	return g.s.get().LogGroupARN, nil
}

func (g *logGroup) change(ctx context.Context) error {
	if !g.retention {
		return nil
	}
	_, err := g.s.c.Logs.PutRetentionPolicy(ctx, &cloudwatchlogs.PutRetentionPolicyInput{LogGroupName: aws.String(g.groupName()), RetentionInDays: aws.Int32(g.s.cfg.LogRetentionDays)})
	return wrap("set retention of "+g.groupName(), err)
}

func (g *logGroup) destroy(ctx context.Context) error {
	_, err := g.s.c.Logs.DeleteLogGroup(ctx, &cloudwatchlogs.DeleteLogGroupInput{LogGroupName: aws.String(g.groupName())})
	return wrap("delete log group "+g.groupName(), err)
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

func (s *Stack) ecsOwner(tags []ecstypes.Tag) Owner {
	m := map[string]string{}
	for _, t := range tags {
		m[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	return s.owner(m)
}

// cluster is the ECS cluster of the service.
type cluster struct {
	s         *Stack
	providers bool // to set
}

func (c *cluster) describe() (string, string) { return "ECS cluster", c.s.cfg.Cluster }
func (c *cluster) stage() int                 { return 1 }

func (c *cluster) find(ctx context.Context) (found, error) {
	s, name := c.s, c.s.cfg.Cluster
	out, err := s.c.ECS.DescribeClusters(ctx, &ecs.DescribeClustersInput{Clusters: []string{name}, Include: []ecstypes.ClusterField{ecstypes.ClusterFieldTags}})
	if err != nil {
		return found{}, fmt.Errorf("describe cluster %s: %w", name, err)
	}
	for _, cl := range out.Clusters {
		if aws.ToString(cl.Status) != "ACTIVE" {
			continue
		}
		s.set(func(o *Outputs) { o.ClusterARN = aws.ToString(cl.ClusterArn) })
		f := found{owner: s.ecsOwner(cl.Tags), id: aws.ToString(cl.ClusterArn)}
		var ds []drift
		if !slices.Contains(cl.CapacityProviders, "FARGATE") {
			ds = append(ds, drift{"no FARGATE capacity provider (services with launch type FARGATE run without one)",
				"aws ecs put-cluster-capacity-providers --cluster " + name + " --capacity-providers FARGATE FARGATE_SPOT --default-capacity-provider-strategy capacityProvider=FARGATE,weight=1"})
		}
		c.providers = s.sortDrift(&f, "cluster", ds) && len(ds) > 0
		return f, nil
	}
	return found{}, nil
}

func (c *cluster) create(ctx context.Context) (string, error) {
	s, name := c.s, c.s.cfg.Cluster
	out, err := s.c.ECS.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String(name), Tags: s.ecsTags(),
		Settings: []ecstypes.ClusterSetting{{Name: ecstypes.ClusterSettingNameContainerInsights, Value: aws.String("enabled")}}})
	if err != nil {
		return "", fmt.Errorf("create cluster %s: %w", name, err)
	}
	s.set(func(o *Outputs) { o.ClusterARN = aws.ToString(out.Cluster.ClusterArn) })
	c.providers = true
	if err := c.change(ctx); err != nil {
		return "", err
	}
	return c.s.get().ClusterARN, nil
}

func (c *cluster) change(ctx context.Context) error {
	if !c.providers {
		return nil
	}
	_, err := c.s.c.ECS.PutClusterCapacityProviders(ctx, &ecs.PutClusterCapacityProvidersInput{
		Cluster: aws.String(c.s.cfg.Cluster), CapacityProviders: []string{"FARGATE", "FARGATE_SPOT"},
		DefaultCapacityProviderStrategy: []ecstypes.CapacityProviderStrategyItem{{CapacityProvider: aws.String("FARGATE"), Weight: 1}},
	})
	return wrap("set the capacity providers of "+c.s.cfg.Cluster, err)
}

func (c *cluster) destroy(ctx context.Context) error {
	_, err := c.s.c.ECS.DeleteCluster(ctx, &ecs.DeleteClusterInput{Cluster: aws.String(c.s.cfg.Cluster)})
	return wrap("delete cluster "+c.s.cfg.Cluster, err)
}

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
	return found{owner: s.ecsOwner(tags), id: arn}, nil
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
		ExecutionRoleArn: aws.String(o.ExecutionRoleARN), Tags: s.ecsTags(),
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

// service is the ECS service that runs the app.
type service struct {
	s *Stack
	// config is the found service's deployment configuration; alarms is
	// true when change is to set rollback-alarms on it.
	config *ecstypes.DeploymentConfiguration
	alarms bool
	// register is true when change is to put the service behind the
	// target group.
	register bool
}

func (v *service) describe() (string, string) { return "ECS service", v.s.cfg.Service }
func (v *service) stage() int                 { return 4 }

func (v *service) find(ctx context.Context) (found, error) {
	s := v.s
	svc := s.found.service
	if svc == nil {
		if s.get().ClusterARN == "" {
			return found{}, nil
		}
		// Made by this run or by an earlier one whose answer was lost.
		out, err := s.c.ECS.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(s.cfg.Cluster), Services: []string{s.cfg.Service}, Include: []ecstypes.ServiceField{ecstypes.ServiceFieldTags}})
		if err != nil {
			return found{}, fmt.Errorf("describe service %s: %w", s.cfg.Service, err)
		}
		for i := range out.Services {
			if aws.ToString(out.Services[i].Status) == "ACTIVE" {
				svc = &out.Services[i]
			}
		}
		if svc == nil {
			return found{}, nil
		}
	}
	arn := aws.ToString(svc.ServiceArn)
	s.set(func(o *Outputs) { o.ServiceARN = arn })
	f := found{owner: s.ecsOwner(svc.Tags), id: arn}
	v.config = svc.DeploymentConfiguration
	if tg := s.get().TargetGroupARN; s.behindLoadBalancer() && !slices.ContainsFunc(svc.LoadBalancers, func(l ecstypes.LoadBalancer) bool { return aws.ToString(l.TargetGroupArn) == tg }) {
		// endpoint: load-balancer asks for this, on an adopted service too.
		f.changes = append(f.changes, "register with the load balancer's target group (endpoint: load-balancer); ECS starts new tasks")
		v.register = true
	}
	if want := s.deploymentAlarmNames(); len(want) > 0 {
		var have []string
		if c := svc.DeploymentConfiguration; c != nil && c.Alarms != nil && c.Alarms.Enable && c.Alarms.Rollback {
			have = slices.Sorted(slices.Values(c.Alarms.AlarmNames))
		}
		if !slices.Equal(have, slices.Sorted(slices.Values(want))) {
			v.alarms = s.sortDrift(&f, "service", []drift{{
				fmt.Sprintf("deployment alarms with rollback are [%s], the config says [%s]", strings.Join(have, ", "), strings.Join(want, ", ")),
				fmt.Sprintf("aws ecs update-service --cluster %s --service %s --deployment-configuration 'alarms={alarmNames=[%s],enable=true,rollback=true}'", s.cfg.Cluster, s.cfg.Service, strings.Join(want, ",")),
			}})
		}
	}
	if cb := svc.DeploymentConfiguration; f.owner == OwnerAdopted && (cb == nil || cb.DeploymentCircuitBreaker == nil || !cb.DeploymentCircuitBreaker.Enable) {
		f.advice = append(f.advice, fmt.Sprintf("its deployment circuit breaker is off (a failed rollout runs until someone stops it; the action still rolls back itself): aws ecs update-service --cluster %s --service %s --deployment-configuration 'deploymentCircuitBreaker={enable=true,rollback=true}'",
			s.cfg.Cluster, s.cfg.Service))
	}
	return f, nil
}

func (v *service) create(ctx context.Context) (string, error) {
	s := v.s
	o := s.get()
	// The placeholder image does not exist yet: the service starts at zero
	// tasks, and the first deploy scales it to desired-count, which it
	// reads from this tag.
	tags := append(s.ecsTags(), ecstypes.Tag{Key: aws.String(ecsdeploy.DesiredCountTag), Value: aws.String(fmt.Sprint(s.cfg.DesiredCount))})
	out, err := s.c.ECS.CreateService(ctx, &ecs.CreateServiceInput{
		Cluster: aws.String(s.cfg.Cluster), ServiceName: aws.String(s.cfg.Service), TaskDefinition: aws.String(o.TaskDefinitionARN),
		DesiredCount: aws.Int32(0), LaunchType: ecstypes.LaunchTypeFargate, Tags: tags, PropagateTags: ecstypes.PropagateTagsService,
		NetworkConfiguration: &ecstypes.NetworkConfiguration{AwsvpcConfiguration: &ecstypes.AwsVpcConfiguration{
			Subnets: o.PublicSubnetIDs, SecurityGroups: o.SecurityGroupIDs, AssignPublicIp: ecstypes.AssignPublicIpEnabled,
		}},
		DeploymentConfiguration: &ecstypes.DeploymentConfiguration{
			DeploymentCircuitBreaker: &ecstypes.DeploymentCircuitBreaker{Enable: true, Rollback: true},
			MaximumPercent:           aws.Int32(200), MinimumHealthyPercent: aws.Int32(100),
			Alarms: s.deploymentAlarms(),
		},
		LoadBalancers:                 s.serviceLoadBalancers(),
		HealthCheckGracePeriodSeconds: s.healthGrace(),
	})
	if err != nil {
		return "", fmt.Errorf("create service %s: %w", s.cfg.Service, err)
	}
	s.set(func(o *Outputs) { o.ServiceARN = aws.ToString(out.Service.ServiceArn) })
	return v.s.get().ServiceARN, nil
}

// change puts the service behind the target group, and sets the
// deployment alarms (the config's and the load balancer's) with nothing
// else of its deployment configuration.
func (v *service) change(ctx context.Context) error {
	if !v.alarms && !v.register {
		return nil
	}
	s := v.s
	in := &ecs.UpdateServiceInput{Cluster: aws.String(s.cfg.Cluster), Service: aws.String(s.cfg.Service)}
	if v.alarms {
		c := &ecstypes.DeploymentConfiguration{}
		if v.config != nil {
			copied := *v.config
			c = &copied
		}
		c.Alarms = s.deploymentAlarms()
		in.DeploymentConfiguration = c
	}
	if v.register {
		in.LoadBalancers, in.HealthCheckGracePeriodSeconds = s.serviceLoadBalancers(), s.healthGrace()
	}
	_, err := s.c.ECS.UpdateService(ctx, in)
	return wrap("update service "+s.cfg.Service, err)
}

// healthGraceSeconds is how long a new task may fail the load balancer's
// health check while the app starts.
const healthGraceSeconds = 60

func (s *Stack) healthGrace() *int32 {
	if !s.behindLoadBalancer() {
		return nil
	}
	return aws.Int32(healthGraceSeconds)
}

// serviceLoadBalancers registers the container's port in the target group.
func (s *Stack) serviceLoadBalancers() []ecstypes.LoadBalancer {
	if !s.behindLoadBalancer() {
		return nil
	}
	return []ecstypes.LoadBalancer{{TargetGroupArn: aws.String(s.get().TargetGroupARN), ContainerName: aws.String(s.containerName()), ContainerPort: aws.Int32(s.cfg.ContainerPort)}}
}

// containerName is the app's container: the running task definition's,
// else the config's.
func (s *Stack) containerName() string {
	if c := s.found.container; c != nil {
		return aws.ToString(c.Name)
	}
	return s.cfg.Container
}

// deploymentAlarmNames are the config's rollback-alarms and the load
// balancer's alarms.
func (s *Stack) deploymentAlarmNames() []string {
	return append(slices.Clone(s.cfg.RollbackAlarms), s.alarmNames()...)
}

// deploymentAlarms are the deployment alarms as ECS takes them, or nil
// when there are none.
func (s *Stack) deploymentAlarms() *ecstypes.DeploymentAlarms {
	names := s.deploymentAlarmNames()
	if len(names) == 0 {
		return nil
	}
	return &ecstypes.DeploymentAlarms{AlarmNames: names, Enable: true, Rollback: true}
}

// checkAlarms makes sure every alarm rollback-alarms names exists, before
// anything changes: ECS takes a name it cannot find and never fails on it.
func (s *Stack) checkAlarms(ctx context.Context) error {
	want := s.cfg.RollbackAlarms
	if len(want) == 0 {
		return nil
	}
	out, err := s.c.CloudWatch.DescribeAlarms(ctx, &cloudwatch.DescribeAlarmsInput{AlarmNames: want,
		AlarmTypes: []cwtypes.AlarmType{cwtypes.AlarmTypeMetricAlarm, cwtypes.AlarmTypeCompositeAlarm}})
	if err != nil {
		return fmt.Errorf("rollback-alarms: describe alarms: %w", err)
	}
	have := map[string]bool{}
	for _, a := range out.MetricAlarms {
		have[aws.ToString(a.AlarmName)] = true
	}
	for _, a := range out.CompositeAlarms {
		have[aws.ToString(a.AlarmName)] = true
	}
	var missing []string
	for _, n := range want {
		if !have[n] {
			missing = append(missing, n)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("rollback-alarms: no CloudWatch alarm %s in %s: create it first (aws cloudwatch put-metric-alarm), or remove it from the config", strings.Join(missing, ", "), s.cfg.Region)
	}
	return nil
}

func (v *service) destroy(ctx context.Context) error {
	_, err := v.s.c.ECS.DeleteService(ctx, &ecs.DeleteServiceInput{Cluster: aws.String(v.s.cfg.Cluster), Service: aws.String(v.s.cfg.Service), Force: aws.Bool(true)})
	return wrap("delete service "+v.s.cfg.Service, err)
}
