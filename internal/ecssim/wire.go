package ecssim

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/autonote/deploy-action/internal/awsjson"
)

// wire turns an SDK value into what ECS sends on the wire.
func wire(v any) any { return awsjson.Value(v) }

// apiError is an ECS error as the awsJson1.1 protocol carries it.
type apiError struct {
	Type    string
	Message string
}

func (e *apiError) Error() string { return e.Type + ": " + e.Message }

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, err error) {
	e, ok := err.(*apiError)
	if !ok {
		e = &apiError{Type: "ServerException", Message: err.Error()}
	}
	status := http.StatusBadRequest
	if e.Type == "ServerException" {
		status = http.StatusInternalServerError
	}
	writeJSON(w, status, map[string]string{"__type": e.Type, "message": e.Message})
}

// regionOf reads the region from a SigV4 Authorization header.
func regionOf(r *http.Request) string {
	auth := r.Header.Get("Authorization")
	_, cred, ok := strings.Cut(auth, "Credential=")
	if !ok {
		return "us-east-1"
	}
	parts := strings.Split(cred, "/")
	if len(parts) < 3 {
		return "us-east-1"
	}
	return parts[2]
}
