package ecsdeploy_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/autonote/deploy-action/internal/ecsdeploy"
	"github.com/autonote/deploy-action/internal/testbed"
)

// TestSecretTheExecutionRoleMayNotRead: a revision naming a secret its
// execution role may not read never starts a task (ECS reads the secrets
// as that role first, and the test bed judges the read); the rollout is
// returned from at its first failed task, with ECS's reason.
func TestSecretTheExecutionRoleMayNotRead(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	m := motoServer.Get(t)
	admin := testbed.New(t, m)
	sm := secretsmanager.NewFromConfig(admin.Config())
	n := seq.Add(1)
	secret := func(name string) string {
		out, err := sm.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String(name), SecretString: aws.String("v")})
		if err != nil {
			t.Fatal(err)
		}
		return aws.ToString(out.ARN)
	}
	readable, other := secret(fmt.Sprintf("exec-%d/env", n)), secret(fmt.Sprintf("exec-%d/other", n))
	role, err := admin.ExecutionRole(ctx, fmt.Sprintf("exec-%d-role", n),
		`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"secretsmanager:GetSecretValue","Resource":"`+readable+`"}]}`)
	if err != nil {
		t.Fatal(err)
	}
	f := newFixture(t, fixtureOpts{moto: m, circuitBreaker: true, rollback: true, executionRole: role, containers: []types.ContainerDefinition{{
		Name: aws.String("server"), Image: aws.String("127.0.0.1:1/autonote/server:first"), Essential: aws.Bool(true),
		PortMappings: []types.PortMapping{{ContainerPort: aws.Int32(3000)}},
		Secrets:      []types.Secret{{Name: aws.String("DATABASE_URL"), ValueFrom: aws.String(readable)}},
	}}})
	// IAM refuses the read, as it would on AWS: the test expects it.
	f.bed.ExpectDenied("secretsmanager:GetSecretValue", other)
	req := f.request(f.image("v2"))
	req.Secrets, req.Timeout, req.FailAfter = []types.Secret{{Name: aws.String("PAYMENTS_KEY"), ValueFrom: aws.String(other + ":key::")}}, time.Minute, 1
	res, err := f.deployer.Deploy(ctx, req)
	if res == nil || res.Status != ecsdeploy.StatusRolledBack || !errors.Is(err, ecsdeploy.ErrFailedFast) {
		t.Fatalf("deploy = %v, %v; want rolled back at the first failed task", res.Status, err)
	}
	if !strings.Contains(err.Error(), "ResourceInitializationError") || !strings.Contains(err.Error(), "unable to retrieve secret from asm") {
		t.Errorf("error %q does not give ECS's reason", err)
	}
	if got := aws.ToString(f.waitStable(t).TaskDefinition); got != f.firstTD {
		t.Errorf("service runs %s, want the first revision %s", got, f.firstTD)
	}
}
