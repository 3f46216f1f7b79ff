package deployhook

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/autonote/deploy-action/internal/hookapi"
	"github.com/autonote/deploy-action/internal/stdwebhook"
)

// Request errors, each mapped to its HTTP status in one place: statusOf.
var (
	ErrTooLarge         = errors.New("request body is over the limit")
	ErrUnsupportedMedia = errors.New("content type must be application/json")
	ErrBadRequest       = errors.New("bad request")
	ErrUnknownTarget    = errors.New("unknown target")
	ErrNotFound         = errors.New("not found")
	ErrForbidden        = errors.New("forbidden")
	// ErrStaleEvent: a GitHub event older than MaxEventAge.
	ErrStaleEvent = errors.New("event too old")
	// ErrBusy: the hook has no room for the request now; try again.
	ErrBusy = errors.New("busy")
)

func statusOf(err error) int {
	switch {
	case errors.Is(err, stdwebhook.ErrNoSignature), errors.Is(err, stdwebhook.ErrBadSignature), errors.Is(err, stdwebhook.ErrStale),
		errors.Is(err, stdwebhook.ErrBadID), errors.Is(err, stdwebhook.ErrTooManySignatures):
		return http.StatusUnauthorized
	case errors.Is(err, ErrTooLarge):
		return http.StatusRequestEntityTooLarge
	case errors.Is(err, ErrUnsupportedMedia):
		return http.StatusUnsupportedMediaType
	case errors.Is(err, ErrBadRequest):
		return http.StatusBadRequest
	case errors.Is(err, ErrUnknownTarget), errors.Is(err, ErrStaleEvent):
		return http.StatusUnprocessableEntity
	case errors.Is(err, ErrNotFound):
		return http.StatusNotFound
	case errors.Is(err, ErrForbidden):
		return http.StatusForbidden
	case errors.Is(err, ErrShuttingDown), errors.Is(err, ErrBusy):
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

func writeError(w http.ResponseWriter, err error) {
	status := statusOf(err)
	msg := err.Error()
	if status == http.StatusInternalServerError {
		msg = "internal error"
	}
	writeJSON(w, status, hookapi.Error{Error: msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
