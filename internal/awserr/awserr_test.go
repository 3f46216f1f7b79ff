package awserr_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/aws/smithy-go"

	"github.com/autonote/deploy-action/internal/awserr"
)

func TestAccessDenied(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"query protocols", &smithy.GenericAPIError{Code: "AccessDenied"}, true},
		{"JSON protocols", fmt.Errorf("describe service: %w", &smithy.GenericAPIError{Code: "AccessDeniedException"}), true},
		{"EC2", &smithy.GenericAPIError{Code: "UnauthorizedOperation"}, true},
		{"another error", &smithy.GenericAPIError{Code: "ServiceNotFoundException"}, false},
		{"not AWS's", errors.New("AccessDenied"), false},
		{"none", nil, false},
	} {
		if got := awserr.AccessDenied(tc.err); got != tc.want {
			t.Errorf("%s: AccessDenied(%v) = %v, want %v", tc.name, tc.err, got, tc.want)
		}
	}
}
