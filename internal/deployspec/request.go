package deployspec

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"

	"github.com/autonote/deploy-action/internal/awserr"
	"github.com/autonote/deploy-action/internal/ecsdeploy"
)

// SecretsAPI is the part of Secrets Manager a deploy reads: the ARNs of the
// secrets it names, and the smoke header's value.
type SecretsAPI interface {
	DescribeSecret(ctx context.Context, in *secretsmanager.DescribeSecretInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.DescribeSecretOutput, error)
	GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, opts ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
}

// EngineTarget is the engine's view of the target.
func (t Target) EngineTarget() ecsdeploy.Target {
	return ecsdeploy.Target{Cluster: t.Cluster, Service: t.Service, Container: t.Container, Repository: t.Repository}
}

// Masks are the values given in the spec itself that no log may show: the
// env values.
func (s Spec) Masks() []string {
	var out []string
	for _, e := range s.Env {
		if v := aws.ToString(e.Value); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// Request is the engine's request for this spec, without an image: the
// secrets named by their ARNs (an unknown one fails here, before anything
// changes) and the smoke header's value read, given to mask before
// anything could print it. sm may be nil when the spec names no secret.
// The pre-deploy command is in it; a rollback or redeploy drops it.
func (s Spec) Request(ctx context.Context, sm SecretsAPI, mask func(string)) (ecsdeploy.Request, error) {
	req := ecsdeploy.Request{
		Target:              s.EngineTarget(),
		Wait:                s.Wait,
		Timeout:             s.Timeout,
		RollbackOnFailure:   s.RollbackOnFailure,
		OnRolloutInProgress: s.OnRolloutInProgress,
		FailAfter:           s.FailAfter,
		KeepRevisions:       s.KeepRevisions,
		Env:                 s.Env,
	}
	if (len(s.Secrets) > 0 || s.SmokeSecret != nil) && sm == nil {
		return req, errors.New("secrets are named but there is no Secrets Manager client")
	}
	var err error
	if req.Secrets, err = s.resolveSecrets(ctx, sm); err != nil {
		return req, err
	}
	if s.PreDeploy != nil {
		req.PreDeploy = &ecsdeploy.PreDeploy{Command: s.PreDeploy, Timeout: s.PreDeployTimeout}
	}
	if s.SmokePath != "" {
		req.Smoke = &ecsdeploy.Smoke{Path: s.SmokePath, Timeout: s.SmokeTimeout, Header: s.SmokeHeader}
		if s.SmokeSecret != nil {
			if req.Smoke.HeaderValue, err = s.secretValue(ctx, sm, *s.SmokeSecret); err != nil {
				return req, err
			}
			mask(req.Smoke.HeaderValue)
		}
	}
	return req, nil
}

func (s Spec) name(setting string) string {
	for _, st := range Settings() {
		if st.Name == setting {
			if s.words == nil {
				return InputWords(st)
			}
			return s.words(st)
		}
	}
	return setting
}

// resolveSecrets turns the secrets setting into the container's valueFrom
// entries: each name becomes its ARN, so an unknown secret fails here and
// not in the tasks.
func (s Spec) resolveSecrets(ctx context.Context, c SecretsAPI) ([]types.Secret, error) {
	var out []types.Secret
	for _, ref := range s.Secrets {
		d, err := c.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String(ref.ID)})
		var nf *smtypes.ResourceNotFoundException
		if errors.As(err, &nf) {
			return nil, fmt.Errorf("%s, %s: there is no secret %s in this account and region: check the name, or create it (aws secretsmanager create-secret --name %s)", s.name("secrets"), ref.Var, ref.ID, ref.ID)
		}
		if awserr.AccessDenied(err) {
			return nil, fmt.Errorf("%s, %s: these credentials may not describe secret %s: %w (a deploy role made by the bootstrap may name its stack's secrets alone, app-secret and api-key-secret: check the name, or add it to the execution role and the deploy role by hand)", s.name("secrets"), ref.Var, ref.ID, err)
		}
		if err != nil {
			return nil, fmt.Errorf("%s, %s: describe secret %s: %w", s.name("secrets"), ref.Var, ref.ID, err)
		}
		from := aws.ToString(d.ARN)
		if ref.Key+ref.Stage+ref.Version != "" {
			from += ":" + ref.Key + ":" + ref.Stage + ":" + ref.Version
		}
		out = append(out, types.Secret{Name: aws.String(ref.Var), ValueFrom: aws.String(from)})
	}
	return out, nil
}

// secretValue reads the smoke header's value.
func (s Spec) secretValue(ctx context.Context, c SecretsAPI, ref SecretRef) (string, error) {
	what := s.name("smoke-header-secret")
	out, err := c.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(ref.ID)})
	if err != nil {
		return "", fmt.Errorf("%s: read secret %s: %w", what, ref.ID, err)
	}
	v := aws.ToString(out.SecretString)
	if ref.Key != "" {
		var m map[string]any
		if json.Unmarshal([]byte(v), &m) != nil {
			return "", fmt.Errorf("%s: secret %s is not a JSON object, so it has no key %s", what, ref.ID, ref.Key)
		}
		str, ok := m[ref.Key].(string)
		if !ok {
			return "", fmt.Errorf("%s: secret %s has no string key %s", what, ref.ID, ref.Key)
		}
		v = str
	}
	if v == "" {
		return "", fmt.Errorf("%s: secret %s is empty", what, ref.ID)
	}
	return v, nil
}
