//go:build awslive

package livetest

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/autonote/deploy-action/internal/awsenv"
	"github.com/autonote/deploy-action/internal/bootstrap"
)

func TestBaselineInARealAccount(t *testing.T) {
	region := os.Getenv("AWS_REGION")
	if region == "" {
		t.Fatal("set AWS_REGION (and credentials) to run the live test")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	awsCfg, err := awsenv.Load(ctx, region, os.Getenv)
	if err != nil {
		t.Fatal(err)
	}
	n := fmt.Sprintf("dalive%d", time.Now().Unix()%100000)
	cfg := bootstrap.Named(n)
	cfg.Region = region
	cfg.VPCCIDR, cfg.PublicSubnets, cfg.PrivateSubnets = "10.250.0.0/16", []string{"10.250.1.0/24", "10.250.2.0/24"}, []string{"10.250.101.0/24", "10.250.102.0/24"}
	stack := func() *bootstrap.Stack {
		s, err := bootstrap.New(bootstrap.NewClients(awsCfg, os.Getenv), cfg)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	t.Cleanup(func() {
		if _, err := stack().Destroy(context.Background(), func(s bootstrap.Step) { t.Logf("%s %s %s", s.Action, s.Kind, s.Name) }); err != nil {
			t.Errorf("destroy: %v: remove the resources tagged deploy-action:stack=%s by hand", err, n)
		}
	})
	if _, err := stack().Apply(ctx, func(s bootstrap.Step) { t.Logf("%s %s %s", s.Action, s.Kind, s.Name) }); err != nil {
		t.Fatalf("apply: %v", err)
	}
	steps, err := stack().Plan(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if c := bootstrap.Changes(steps); c != 0 {
		t.Errorf("plan after apply in a real account: %d changes: %+v", c, steps)
	}
}
