package bootstrap

import (
	"fmt"
	"slices"
	"strings"
)

// Scope is what one stack's roles act on, by ARN: the resources the
// bootstrap found or made. The deploy role's policy, the infrastructure
// role's and the permissions boundary are all drawn from it, so the
// boundary allows exactly what the roles under it do, on the same
// resources: a role whose policy is rewritten (by the bootstrap role,
// which writes them) still reaches nothing of another stack's.
type Scope struct {
	Region, Account string
	// Stack is the stack's name: its load balancer, target groups and
	// alarms are named after it.
	Stack string
	// Cluster and Service name the service; Family its task definitions.
	Cluster, Service, Family string
	Repository               string // the ECR repository's name
	LogGroup                 string // the tasks' log group
	// AppSecret and APIKeySecret are the baseline's secrets by name
	// (AWS appends six characters to each one's ARN).
	AppSecret, APIKeySecret string
	// TaskSecrets are the ARNs of the other secrets the task reads (an
	// adopted task definition's).
	TaskSecrets []string
	// ExecutionRole and TaskRole are the roles the task definition names
	// (ARNs; TaskRole may be empty).
	ExecutionRole, TaskRole string
	// Shifts: the service moves traffic between two target groups
	// (blue/green, canary, linear) on the stack's load balancer.
	Shifts bool
	// LoadBalancer names the stack's load balancer; TargetGroups its
	// target groups (the primary, and the alternate of a shifting
	// service).
	LoadBalancer string
	TargetGroups []string
}

func (sc Scope) arn(service, resource string) string {
	return fmt.Sprintf("arn:aws:%s:%s:%s:%s", service, sc.Region, sc.Account, resource)
}

func (sc Scope) serviceARN() string { return sc.arn("ecs", "service/"+sc.Cluster+"/"+sc.Service) }
func (sc Scope) clusterARN() string { return sc.arn("ecs", "cluster/"+sc.Cluster) }
func (sc Scope) familyARN() string  { return sc.arn("ecs", "task-definition/"+sc.Family+":*") }
func (sc Scope) repositoryARN() string {
	return sc.arn("ecr", "repository/"+sc.Repository)
}
func (sc Scope) logGroupARN() string { return sc.arn("logs", "log-group:"+sc.LogGroup) }

// secret matches a secret by its name and the six characters AWS appends
// (never another secret whose name starts the same: name-admin-AbCdEf).
func (sc Scope) secret(name string) string {
	return sc.arn("secretsmanager", "secret:"+name+"-??????")
}

// taskSecrets are every secret the tasks read.
func (sc Scope) taskSecrets() []string {
	out := []string{sc.secret(sc.AppSecret), sc.secret(sc.APIKeySecret)}
	for _, s := range sc.TaskSecrets {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

func (sc Scope) passRoles() []string {
	var roles []string
	for _, r := range []string{sc.ExecutionRole, sc.TaskRole} {
		if r != "" && !slices.Contains(roles, r) {
			roles = append(roles, r)
		}
	}
	return roles
}

// statement is one Allow of a policy.
func statement(sid string, actions []string, resource any, cond map[string]any) map[string]any {
	m := map[string]any{"Sid": sid, "Effect": "Allow", "Action": actions, "Resource": resource}
	if cond != nil {
		m["Condition"] = cond
	}
	return m
}

// deployStatements allow exactly what the action does, and no "*" action,
// on the stack's service, cluster, family, repository, log group, secrets
// and roles. Read-only calls that AWS does not scope take "*".
func (sc Scope) deployStatements() []map[string]any {
	service, cluster := sc.serviceARN(), sc.clusterARN()
	inCluster := map[string]any{"ArnEquals": map[string]any{"ecs:cluster": cluster}}
	prefix := strings.TrimSuffix(service, "/"+sc.Service)
	sts := []map[string]any{
		statement("EcrLogin", []string{"ecr:GetAuthorizationToken"}, "*", nil),
		// create-repository tags the repository it makes: ecr:TagResource.
		statement("EcrPush", []string{"ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:CompleteLayerUpload", "ecr:CreateRepository",
			"ecr:DescribeImages", "ecr:DescribeRepositories", "ecr:GetDownloadUrlForLayer", "ecr:InitiateLayerUpload", "ecr:ListImages",
			"ecr:PutImage", "ecr:TagResource", "ecr:UploadLayerPart"}, sc.repositoryARN(), nil),
		// Read-only, so that "cluster/service not found" can name those that exist.
		statement("ListForErrors", []string{"ecs:ListClusters", "ecs:ListServices"}, "*", nil),
		// ECS takes no resource for describing, listing or deregistering
		// revisions: keep-revisions cannot be narrowed to the family.
		statement("ReadRevisions", []string{"ecs:DeregisterTaskDefinition", "ecs:DescribeTaskDefinition", "ecs:ListTaskDefinitions"}, "*", nil),
		statement("RegisterRevisions", []string{"ecs:RegisterTaskDefinition"}, sc.familyARN(), nil),
		// Tags only as part of registering a revision or starting the
		// pre-deploy task, never on anything else.
		statement("TagOnCreate", []string{"ecs:TagResource"}, []string{sc.familyARN(), sc.arn("ecs", "task/"+sc.Cluster+"/*")},
			map[string]any{"StringEquals": map[string]any{"ecs:CreateAction": []string{"RegisterTaskDefinition", "RunTask"}}}),
		// pre-deploy-command: one task of the family in the cluster, its log lines.
		statement("PreDeployTask", []string{"ecs:RunTask"}, sc.familyARN(), inCluster),
		statement("Tasks", []string{"ecs:DescribeTasks", "ecs:StopTask"}, sc.arn("ecs", "task/"+sc.Cluster+"/*"), inCluster),
		statement("ListTasks", []string{"ecs:ListTasks"}, "*", inCluster),
		statement("PreDeployLogs", []string{"logs:GetLogEvents"}, sc.logGroupARN()+":log-stream:*", nil),
		// secrets input: the baseline's own secrets are named by ARN (no
		// value is read); smoke-header-secret: the API key's value, no other.
		statement("NameBaselineSecrets", []string{"secretsmanager:DescribeSecret"}, []string{sc.secret(sc.AppSecret), sc.secret(sc.APIKeySecret)}, nil),
		statement("ReadAPIKey", []string{"secretsmanager:GetSecretValue"}, sc.secret(sc.APIKeySecret), nil),
		// The service; for one that shifts traffic (blue/green, canary,
		// linear), its service deployments too: follow them, answer the
		// PAUSE hooks of the gate, send one back during its bake. ECS
		// authorizes these on the service and on the deployment.
		statement("Service", []string{"ecs:ContinueServiceDeployment", "ecs:DescribeServiceDeployments", "ecs:DescribeServiceRevisions", "ecs:DescribeServices",
			"ecs:ListServiceDeployments", "ecs:StopServiceDeployment", "ecs:UpdateService"},
			[]string{service, strings.Replace(prefix, ":service/", ":service-deployment/", 1) + "/" + sc.Service + "/*",
				strings.Replace(prefix, ":service/", ":service-revision/", 1) + "/" + sc.Service + "/*"}, nil),
		// What runs now: the tasks' addresses, the load balancer and its
		// rules, the deployment alarms (these describe calls take no resource).
		statement("Status", []string{"cloudwatch:DescribeAlarms", "ec2:DescribeNetworkInterfaces",
			"elasticloadbalancing:DescribeListeners", "elasticloadbalancing:DescribeLoadBalancers", "elasticloadbalancing:DescribeRules",
			"elasticloadbalancing:DescribeTags", "elasticloadbalancing:DescribeTargetGroups"}, "*", nil),
		statement("PassTaskRoles", []string{"iam:PassRole"}, sc.passRoles(),
			map[string]any{"StringEquals": map[string]any{"iam:PassedToService": "ecs-tasks.amazonaws.com"}}),
	}
	return slices.DeleteFunc(sts, func(st map[string]any) bool {
		r, ok := st["Resource"].([]string)
		return ok && len(r) == 0 // nothing to allow it on
	})
}

// DeployPolicy is the deploy role's policy.
func (sc Scope) DeployPolicy() string { return policyDoc(sc.deployStatements()...) }

// executionStatements are what ECS does with the execution role: pull the
// image from the stack's repository, write the tasks' log streams, read
// the task's secrets (decrypting them through Secrets Manager).
func (sc Scope) executionStatements() []map[string]any {
	return []map[string]any{
		statement("TaskPull", []string{"ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"}, sc.repositoryARN(), nil),
		statement("TaskLogs", []string{"logs:CreateLogStream", "logs:PutLogEvents"}, []string{sc.logGroupARN(), sc.logGroupARN() + ":log-stream:*"}, nil),
		statement("TaskSecrets", []string{"secretsmanager:GetSecretValue"}, sc.taskSecrets(), nil),
		statement("TaskSecretKeys", []string{"kms:Decrypt"}, "*",
			map[string]any{"StringEquals": map[string]any{"kms:ViaService": "secretsmanager." + sc.Region + ".amazonaws.com"}}),
	}
}

// infrastructureStatements are what ECS does with the infrastructure role
// of a shifting service: move the weights of the stack's listener rules,
// and register its tasks in the stack's two target groups.
func (sc Scope) infrastructureStatements() []map[string]any {
	var groups []string
	for _, tg := range sc.TargetGroups {
		groups = append(groups, sc.arn("elasticloadbalancing", "targetgroup/"+tg+"/*"))
	}
	return []map[string]any{
		statement("ReadLoadBalancer", []string{"elasticloadbalancing:DescribeListeners", "elasticloadbalancing:DescribeRules",
			"elasticloadbalancing:DescribeTargetGroups", "elasticloadbalancing:DescribeTargetHealth"}, "*", nil),
		statement("Targets", []string{"elasticloadbalancing:DeregisterTargets", "elasticloadbalancing:RegisterTargets"}, groups, nil),
		statement("ShiftTraffic", []string{"elasticloadbalancing:ModifyListener", "elasticloadbalancing:ModifyRule"}, []string{
			sc.arn("elasticloadbalancing", "listener/app/"+sc.LoadBalancer+"/*"), sc.arn("elasticloadbalancing", "listener-rule/app/"+sc.LoadBalancer+"/*")}, nil),
	}
}

// InfrastructurePolicy is the infrastructure role's policy: AWS's managed
// AmazonECSInfrastructureRolePolicyForLoadBalancers names every load
// balancer in the account; this names the stack's.
func (sc Scope) InfrastructurePolicy() string { return policyDoc(sc.infrastructureStatements()...) }

// BoundaryPolicy is the permissions boundary of every role the bootstrap
// makes: the union of what the deploy, execution and infrastructure roles
// do, on the stack's resources. No IAM action but passing the task's own
// roles to ECS's tasks.
func (sc Scope) BoundaryPolicy() string {
	var sts []map[string]any
	for _, group := range [][]map[string]any{sc.deployStatements(), sc.executionStatements()} {
		sts = append(sts, group...)
	}
	if sc.Shifts {
		sts = append(sts, sc.infrastructureStatements()...)
	}
	// The baseline's secrets may be an adopted task definition's, found
	// by what it reads rather than by their names in the config: a deploy
	// role names them as found.
	if len(sc.TaskSecrets) > 0 {
		sts = append(sts, statement("TaskSecretNames", []string{"secretsmanager:DescribeSecret", "secretsmanager:GetSecretValue"}, sc.TaskSecrets, nil))
	}
	return policyDoc(merged(sts)...)
}

// merged folds statements that allow on the same resources under the same
// conditions into one, without Sids: the boundary is a managed policy, and
// IAM allows one 6,144 characters.
func merged(sts []map[string]any) []map[string]any {
	var out []map[string]any
	at := map[string]int{}
	for _, st := range sts {
		key := normalJSON(map[string]any{"r": st["Resource"], "c": st["Condition"]})
		i, ok := at[key]
		if !ok {
			at[key] = len(out)
			m := map[string]any{"Effect": "Allow", "Resource": st["Resource"], "Action": []string{}}
			if st["Condition"] != nil {
				m["Condition"] = st["Condition"]
			}
			out = append(out, m)
			i = len(out) - 1
		}
		acts := append(out[i]["Action"].([]string), st["Action"].([]string)...)
		slices.Sort(acts)
		out[i]["Action"] = slices.Compact(acts)
	}
	return out
}

// InfrastructureTrust lets ECS alone assume the infrastructure role, and
// only for this account's services (the confused deputy: another
// account's service cannot name it).
func (sc Scope) InfrastructureTrust() string {
	return policyDoc(map[string]any{"Sid": "AllowAccessToECSForInfrastructureManagement", "Effect": "Allow",
		"Principal": map[string]any{"Service": "ecs.amazonaws.com"}, "Action": "sts:AssumeRole",
		"Condition": map[string]any{
			"StringEquals": map[string]any{"aws:SourceAccount": sc.Account},
			"ArnLike":      map[string]any{"aws:SourceArn": sc.arn("ecs", "*")},
		}})
}
