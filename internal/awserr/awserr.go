// Package awserr reads what AWS's errors say, for every package that
// calls AWS: one definition of each.
package awserr

import (
	"errors"

	"github.com/aws/smithy-go"
)

// AccessDenied reports whether AWS refused a call to the credentials that
// made it (IAM's denial, in each protocol's words).
func AccessDenied(err error) bool {
	var api smithy.APIError
	if errors.As(err, &api) {
		switch api.ErrorCode() {
		case "AccessDenied", "AccessDeniedException", "UnauthorizedOperation":
			return true
		}
	}
	return false
}
