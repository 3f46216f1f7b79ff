package awsenv_test

import (
	"strings"
	"testing"

	"github.com/autonote/deploy-action/internal/awsenv"
)

func TestCheckRegion(t *testing.T) {
	t.Parallel()
	for _, ok := range []string{"us-east-1", "eu-west-2", "us-gov-west-1", "cn-northwest-1", "ap-southeast-5", "us-isob-east-1", "xx-future-9"} {
		if err := awsenv.CheckRegion(ok); err != nil {
			t.Errorf("CheckRegion(%q) = %v, want it taken", ok, err)
		}
	}
	tests := map[string]string{
		"us-east1":   `"us-east1" is not an AWS region: did you mean us-east-1?`,
		"useast-1":   "did you mean us-east-1?",
		"eu-west":    "did you mean eu-west-1 or eu-west-2 or eu-west-3?",
		"US-EAST-1":  "did you mean us-east-1?",
		"":           "e.g. us-east-1",
		"frankfurt":  "e.g. us-east-1",
		"us-east-1 ": "did you mean us-east-1?",
	}
	for in, says := range tests {
		err := awsenv.CheckRegion(in)
		if err == nil || !strings.Contains(err.Error(), says) {
			t.Errorf("CheckRegion(%q) = %v, want one saying %q", in, err, says)
		}
	}
}
