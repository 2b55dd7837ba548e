package serve

import (
	"errors"
	"io"
	"mime"
	"net/http"
	"slices"
	"strings"
)

// corsMaxAge is how long browsers may cache a preflight answer (seconds).
const corsMaxAge = "600"

// cors adds the CORS headers for an allowed Origin (Options.CORSOrigins)
// and answers a preflight request (OPTIONS with
// Access-Control-Request-Method) from one with 204, reporting true. With
// no origins configured, or another origin, it adds nothing: browsers then
// refuse the cross-origin answer.
func (s *Server) cors(w *recorder, r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" || len(s.opt.CORSOrigins) == 0 {
		return false
	}
	h := w.Header()
	h.Add("Vary", "Origin")
	allowed := origin
	switch {
	case slices.Contains(s.opt.CORSOrigins, "*"):
		allowed = "*"
	case !slices.Contains(s.opt.CORSOrigins, origin):
		return false
	}
	h.Set("Access-Control-Allow-Origin", allowed)
	h.Set("Access-Control-Expose-Headers", "X-Request-Id, Retry-After")
	if r.Method != http.MethodOptions || r.Header.Get("Access-Control-Request-Method") == "" {
		return false
	}
	h.Add("Vary", "Access-Control-Request-Method, Access-Control-Request-Headers")
	h.Set("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
	headers := "Authorization, Content-Type, X-Request-Id"
	if req := r.Header.Get("Access-Control-Request-Headers"); req != "" {
		headers = req // the API reads only these, but refuses no header
	}
	h.Set("Access-Control-Allow-Headers", headers)
	h.Set("Access-Control-Max-Age", corsMaxAge)
	w.WriteHeader(http.StatusNoContent)
	return true
}

// postJSON answers 405 unless r is a POST and 415 unless its body is JSON
// (Content-Type application/json, any parameters; an absent Content-Type
// is taken as JSON), reporting whether the request may go on.
func postJSON(w *recorder, r *http.Request) bool {
	if r.Method != http.MethodPost {
		writeError(w, errMethod(r.Method, "POST"))
		return false
	}
	ct := r.Header.Get("Content-Type")
	if strings.TrimSpace(ct) == "" {
		return true
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil || mt != "application/json" {
		writeError(w, errMediaType(ct))
		return false
	}
	return true
}

// readBody reads the body up to Options.MaxBodyBytes, answering 413 for a
// longer one and 400 when it cannot be read.
func (s *Server) readBody(w *recorder, r *http.Request) ([]byte, bool) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.opt.MaxBodyBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeError(w, errTooLarge(s.opt.MaxBodyBytes))
		} else {
			writeError(w, badRequest("", "reading the body: %v", err))
		}
		return nil, false
	}
	return body, true
}
