package serve

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
)

// apiError is an error answered in the OpenAI error shape:
//
//	{"error": {"message": "...", "type": "...", "param": null, "code": "..."}}
type apiError struct {
	Status  int    `json:"-"`
	Message string `json:"message"`
	Type    string `json:"type"`
	Param   any    `json:"param"` // string or nil
	Code    any    `json:"code"`  // string or nil
	// RetryAfter, if positive, is sent as the Retry-After header (seconds).
	RetryAfter int `json:"-"`
}

func (e *apiError) Error() string { return "serve: " + e.Message }

// badRequest is a 400 invalid_request_error about param (may be empty).
func badRequest(param, format string, args ...any) *apiError {
	e := &apiError{Status: http.StatusBadRequest, Type: "invalid_request_error", Message: fmt.Sprintf(format, args...)}
	if param != "" {
		e.Param = param
	}
	return e
}

func errUnauthorized() *apiError {
	return &apiError{Status: http.StatusUnauthorized, Type: "invalid_request_error", Code: "invalid_api_key",
		Message: "Incorrect or missing API key: send it as \"Authorization: Bearer KEY\"."}
}

func errNotFound(path string) *apiError {
	return &apiError{Status: http.StatusNotFound, Type: "invalid_request_error", Code: "not_found",
		Message: fmt.Sprintf("Unknown path %q.", path)}
}

func errModelNotFound(model string) *apiError {
	return &apiError{Status: http.StatusNotFound, Type: "invalid_request_error", Param: "model", Code: "model_not_found",
		Message: fmt.Sprintf("The model %q does not exist on this server.", model)}
}

func errMethod(method string, allowed string) *apiError {
	return &apiError{Status: http.StatusMethodNotAllowed, Type: "invalid_request_error", Code: "method_not_allowed",
		Message: fmt.Sprintf("Method %s is not allowed here; use %s.", method, allowed)}
}

func errTooLarge(limit int64) *apiError {
	return &apiError{Status: http.StatusRequestEntityTooLarge, Type: "invalid_request_error", Code: "request_too_large",
		Message: fmt.Sprintf("The request body exceeds %d bytes.", limit)}
}

// errContext is the 413 for a prompt of n tokens ("123" or "at least
// 123") that leaves no room in a context of ctx.
func errContext(req *request, n string, ctx int) *apiError {
	param := "prompt"
	if req.chat {
		param = "messages"
	}
	return &apiError{Status: http.StatusRequestEntityTooLarge, Type: "invalid_request_error", Param: param, Code: "context_length_exceeded",
		Message: fmt.Sprintf("The prompt has %s tokens; this server's context holds %d (the prompt must leave room for at least one generated token).", n, ctx)}
}

func errMediaType(ct string) *apiError {
	return &apiError{Status: http.StatusUnsupportedMediaType, Type: "invalid_request_error", Code: "unsupported_media_type",
		Message: fmt.Sprintf("Content-Type %q is not supported: send the body as JSON with \"Content-Type: application/json\" (curl: -H 'Content-Type: application/json').", ct)}
}

// errTemplate is the 501 for a chat when the model's chat template is not
// one the server can render.
func errTemplate(err error) *apiError {
	return &apiError{Status: http.StatusNotImplemented, Type: "not_supported_error", Code: "unsupported_chat_template",
		Message: err.Error() + " (/v1/completions takes such a prompt)"}
}

func errQueueFull() *apiError {
	return &apiError{Status: http.StatusTooManyRequests, Type: "rate_limit_error", Code: "queue_full", RetryAfter: 1,
		Message: "Every slot is busy and the queue is full; retry later."}
}

func errLoading() *apiError {
	return &apiError{Status: http.StatusServiceUnavailable, Type: "server_error", Code: "model_loading", RetryAfter: 1,
		Message: "The model is still loading."}
}

func errShuttingDown() *apiError {
	return &apiError{Status: http.StatusServiceUnavailable, Type: "server_error", Code: "shutting_down",
		Message: "The server is shutting down."}
}

func errInternal(err error) *apiError {
	return &apiError{Status: http.StatusInternalServerError, Type: "server_error", Code: "internal_error",
		Message: err.Error()}
}

// writeError answers e as JSON.
func writeError(w http.ResponseWriter, e *apiError) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	if e.RetryAfter > 0 {
		h.Set("Retry-After", strconv.Itoa(e.RetryAfter))
	}
	w.WriteHeader(e.Status)
	_ = encoder(w).Encode(struct {
		Error *apiError `json:"error"`
	}{e})
}

// writeJSON answers v with status 200.
func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = encoder(w).Encode(v)
}

// encoder writes JSON with <, > and & as they are (chat templates and
// generated text are full of them).
func encoder(w io.Writer) *json.Encoder {
	e := json.NewEncoder(w)
	e.SetEscapeHTML(false)
	return e
}
