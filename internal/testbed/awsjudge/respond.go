package awsjudge

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"net/http"
	"strings"

	"github.com/autonote/deploy-action/internal/testbed/awsmodel"
)

// refuse answers a request as the service answers one it refuses, in its
// protocol: kind is AccessDenied or ValidationException.
func refuse(w http.ResponseWriter, req *awsmodel.Request, kind, message string) {
	status := http.StatusBadRequest
	if kind == "AccessDenied" {
		status = http.StatusForbidden
	}
	switch req.Model.Protocol {
	case "json":
		code := kind
		if kind == "AccessDenied" {
			code = "AccessDeniedException"
		}
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.Header().Set("X-Amzn-ErrorType", code)
		w.WriteHeader(http.StatusBadRequest)
		_ = json.NewEncoder(w).Encode(map[string]string{"__type": code, "message": message})
	case "ec2":
		code := "UnauthorizedOperation"
		if kind != "AccessDenied" {
			code = "InvalidParameterValue"
		}
		w.Header().Set("Content-Type", "text/xml")
		w.WriteHeader(status)
		fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?><Response><Errors><Error><Code>%s</Code><Message>%s</Message></Error></Errors><RequestID>testbed</RequestID></Response>`, code, escape(message))
	default: // query
		code := "AccessDenied"
		if kind != "AccessDenied" {
			code = "ValidationError"
		}
		w.Header().Set("Content-Type", "text/xml")
		w.WriteHeader(status)
		fmt.Fprintf(w, `<ErrorResponse><Error><Type>Sender</Type><Code>%s</Code><Message>%s</Message></Error><RequestId>testbed</RequestId></ErrorResponse>`, code, escape(message))
	}
}

func escape(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}
