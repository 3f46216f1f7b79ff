package bootstrap

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"slices"

	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
)

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
	if out.DeletedDate != nil && x.s.destroying {
		return found{}, false, nil // on its way out already
	}
	if out.DeletedDate != nil {
		return found{}, false, fmt.Errorf("secret %s is scheduled for deletion: restore it (aws secretsmanager restore-secret --secret-id %s) or wait until it is gone", id, id)
	}
	x.arn, x.name = aws.ToString(out.ARN), aws.ToString(out.Name)
	f = found{owner: x.s.owner(smTag.of(out.Tags)), id: x.arn}
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
		x.s.notePending(x.name, false)
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
	out, err := s.c.Secrets.CreateSecret(ctx, &secretsmanager.CreateSecretInput{
		Name: aws.String(x.name), SecretString: aws.String(value), Tags: smTag.list(s.tagMap()),
		Description: aws.String(fmt.Sprintf("%s (%s): made by the bootstrap", x.kind, s.cfg.Name)),
	})
	if err != nil {
		return fmt.Errorf("create secret %s: %w", x.name, err)
	}
	x.arn = aws.ToString(out.ARN)
	s.markOurs(x.arn)
	s.notePending(x.name, true)
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
