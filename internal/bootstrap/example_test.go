package bootstrap_test

import (
	"reflect"
	"testing"

	"github.com/autonote/deploy-action/internal/bootstrap"
)

// TestExampleConfigIsTheDefault keeps examples/bootstrap.yaml honest: it
// parses, passes Check, and says exactly the defaults (and the GitHub role).
func TestExampleConfigIsTheDefault(t *testing.T) {
	t.Parallel()
	got, err := bootstrap.LoadConfig("../../examples/bootstrap.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := got.Check(); err != nil {
		t.Fatal(err)
	}
	want := bootstrap.Default()
	want.Region = "us-east-1"
	want.AvailabilityZones = []string{}
	want.GitHub = &bootstrap.GitHub{Repository: "autonote/autonote", Branch: "main", Role: "autonote-deploy", TokenURL: bootstrap.DefaultTokenURL}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("examples/bootstrap.yaml = %+v\nwant the defaults %+v", got, want)
	}
}
