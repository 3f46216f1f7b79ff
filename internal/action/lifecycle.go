package action

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/sethvargo/go-githubactions"

	"github.com/autonote/deploy-action/internal/ecsdeploy"
)

// Lifecycle are the inputs around a rollout: the revision's variables, a
// command before it, a check after it, and old revisions.
type Lifecycle struct {
	Env              []types.KeyValuePair
	Secrets          []SecretRef
	TaskDefinition   string
	KeepRevisions    int
	PreDeploy        []string // the command, exec form; nil: none
	PreDeployTimeout time.Duration
	SmokePath        string
	SmokeTimeout     time.Duration
	SmokeHeader      string
	SmokeSecret      *SecretRef // where the header's value comes from
}

// SecretRef is a secret named in an input: a name or ARN, and a JSON key.
type SecretRef struct {
	Var, ID, Key string
}

var varName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// headerName is an HTTP header name (RFC 9110 token).
var headerName = regexp.MustCompile("^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")

// parseLifecycle reads the lifecycle inputs. env values are masked before
// anything else happens, and no error repeats a value.
func parseLifecycle(a *githubactions.Action, in *Inputs) error {
	l := &in.Lifecycle
	var err error
	for i, line := range lines(a.GetInput("env")) {
		k, v, ok := strings.Cut(line, "=")
		if !ok || !varName.MatchString(k) {
			return fmt.Errorf("input env, line %d: want KEY=VALUE with KEY a variable name (letters, digits, _), got %s", i+1, shownKey(k, ok))
		}
		if v != "" {
			a.AddMask(v)
		}
		l.Env = append(l.Env, types.KeyValuePair{Name: aws.String(k), Value: aws.String(v)})
	}
	for i, line := range lines(a.GetInput("secrets")) {
		k, v, ok := strings.Cut(line, "=")
		if !ok || !varName.MatchString(k) || v == "" {
			return fmt.Errorf("input secrets, line %d: want KEY=secret-name-or-arn[:json-key], got %s", i+1, shownKey(k, ok))
		}
		ref, err := parseSecretRef(v)
		if err != nil {
			return fmt.Errorf("input secrets, %s: %w", k, err)
		}
		ref.Var = k
		l.Secrets = append(l.Secrets, ref)
	}
	l.TaskDefinition = a.GetInput("task-definition")
	if s := a.GetInput("keep-revisions"); s != "" {
		if l.KeepRevisions, err = strconv.Atoi(s); err != nil || l.KeepRevisions < 0 {
			return fmt.Errorf("input keep-revisions %q: give how many of the newest revisions to keep (a whole number), or 0 to keep all", s)
		}
	}
	if s := strings.TrimSpace(a.GetInput("pre-deploy-command")); s != "" {
		if strings.HasPrefix(s, "[") {
			if err := json.Unmarshal([]byte(s), &l.PreDeploy); err != nil || len(l.PreDeploy) == 0 {
				return fmt.Errorf("input pre-deploy-command starts with [ but is not a JSON array of strings (%v): write [\"npm\", \"run\", \"migrate\"], or a plain command run with sh -c", err)
			}
		} else {
			l.PreDeploy = []string{"sh", "-c", s}
		}
	}
	if l.PreDeployTimeout, err = duration(a, "pre-deploy-timeout", ecsdeploy.DefaultPreDeployTimeout); err != nil {
		return err
	}
	if l.SmokeTimeout, err = duration(a, "smoke-timeout", ecsdeploy.DefaultSmokeTimeout); err != nil {
		return err
	}
	if p := a.GetInput("smoke-path"); p != "" {
		u, err := url.Parse(p)
		if err != nil || !strings.HasPrefix(p, "/") || u.Host != "" || strings.ContainsAny(p, " \t#") {
			return fmt.Errorf("input smoke-path %q: give a path that starts with /, e.g. /health (the address and port are the task's)", p)
		}
		l.SmokePath = p
	}
	l.SmokeHeader = a.GetInput("smoke-header")
	if s := a.GetInput("smoke-header-secret"); s != "" {
		ref, err := parseSecretRef(s)
		if err != nil {
			return fmt.Errorf("input smoke-header-secret: %w", err)
		}
		l.SmokeSecret = &ref
	}
	switch {
	case l.SmokeHeader != "" && !headerName.MatchString(l.SmokeHeader):
		return fmt.Errorf("input smoke-header %q is not an HTTP header name: e.g. X-API-KEY", l.SmokeHeader)
	case l.SmokeHeader != "" && l.SmokeSecret == nil:
		return fmt.Errorf("input smoke-header is set without smoke-header-secret: name the secret that holds its value (e.g. autonote/server/api-key)")
	case l.SmokeSecret != nil && l.SmokeHeader == "":
		return fmt.Errorf("input smoke-header-secret is set without smoke-header: name the header it goes in (e.g. X-API-KEY)")
	case (l.SmokeHeader != "" || a.GetInput("smoke-timeout") != "") && l.SmokePath == "":
		return fmt.Errorf("smoke-header and smoke-timeout need smoke-path: the path to check, e.g. /health")
	case l.TaskDefinition != "" && in.Command != CommandDeploy:
		return fmt.Errorf("input task-definition is for command deploy only")
	case l.TaskDefinition != "" && in.Image != "":
		return fmt.Errorf("inputs task-definition and image are both set: a given revision is deployed as it is; drop one")
	case l.TaskDefinition != "" && len(l.Env)+len(l.Secrets) > 0:
		return fmt.Errorf("inputs task-definition and env or secrets are both set: a given revision is deployed as it is; drop one")
	}
	return nil
}

func shownKey(k string, hadEquals bool) string {
	if !hadEquals {
		return "a line without =" // the line may be a value: never print it
	}
	return fmt.Sprintf("key %q", k[:min(len(k), 40)])
}

func lines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	return out
}

func duration(a *githubactions.Action, name string, def time.Duration) (time.Duration, error) {
	s := a.GetInput(name)
	if s == "" {
		return def, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("input %s %q is not a positive duration: write it as Go does, e.g. 10m, 90s", name, s)
	}
	return d, nil
}

// parseSecretRef reads name-or-arn[:json-key]. A name has no colon; an
// ARN has seven parts, and an eighth is the key.
func parseSecretRef(v string) (SecretRef, error) {
	if strings.HasPrefix(v, "arn:") {
		parts := strings.Split(v, ":")
		switch {
		case len(parts) == 7 && parts[2] == "secretsmanager":
			return SecretRef{ID: v}, nil
		case len(parts) == 8 && parts[2] == "secretsmanager" && parts[7] != "":
			return SecretRef{ID: strings.Join(parts[:7], ":"), Key: parts[7]}, nil
		}
		return SecretRef{}, fmt.Errorf("%q is not a Secrets Manager secret ARN (arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME), with an optional :json-key", v)
	}
	name, key, _ := strings.Cut(v, ":")
	if name == "" || strings.ContainsAny(name, " \t") {
		return SecretRef{}, fmt.Errorf("%q is not a secret name: give name-or-arn[:json-key], e.g. autonote/server/env:DATABASE_URL", v)
	}
	return SecretRef{ID: name, Key: key}, nil
}

// SecretsAPI is the part of Secrets Manager the action reads.
type SecretsAPI interface {
	DescribeSecret(ctx context.Context, in *secretsmanager.DescribeSecretInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.DescribeSecretOutput, error)
	GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
}

// resolveSecrets turns the secrets input into the container's valueFrom
// entries: each name becomes its ARN, so an unknown secret fails here,
// before anything changes, and not in the tasks.
func resolveSecrets(ctx context.Context, c SecretsAPI, refs []SecretRef) ([]types.Secret, error) {
	var out []types.Secret
	for _, ref := range refs {
		d, err := c.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(ref.ID)})
		var nf *smtypes.ResourceNotFoundException
		if errors.As(err, &nf) {
			return nil, fmt.Errorf("input secrets, %s: there is no secret %s in this account and region: check the name, or create it (aws secretsmanager create-secret --name %s)", ref.Var, ref.ID, ref.ID)
		}
		if err != nil {
			return nil, fmt.Errorf("input secrets, %s: describe secret %s: %w", ref.Var, ref.ID, err)
		}
		from := aws.ToString(d.ARN)
		if ref.Key != "" {
			from += ":" + ref.Key + "::"
		}
		out = append(out, types.Secret{Name: aws.String(ref.Var), ValueFrom: aws.String(from)})
	}
	return out, nil
}

// secretValue reads the smoke header's value and masks it before anything
// could print it.
func secretValue(ctx context.Context, a *githubactions.Action, c SecretsAPI, ref SecretRef) (string, error) {
	out, err := c.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(ref.ID)})
	if err != nil {
		return "", fmt.Errorf("input smoke-header-secret: read secret %s: %w", ref.ID, err)
	}
	v := aws.ToString(out.SecretString)
	if ref.Key != "" {
		var m map[string]any
		if json.Unmarshal([]byte(v), &m) != nil {
			return "", fmt.Errorf("input smoke-header-secret: secret %s is not a JSON object, so it has no key %s", ref.ID, ref.Key)
		}
		s, ok := m[ref.Key].(string)
		if !ok {
			return "", fmt.Errorf("input smoke-header-secret: secret %s has no string key %s", ref.ID, ref.Key)
		}
		v = s
	}
	if v == "" {
		return "", fmt.Errorf("input smoke-header-secret: secret %s is empty", ref.ID)
	}
	a.AddMask(v)
	return v, nil
}
