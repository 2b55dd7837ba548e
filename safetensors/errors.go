package safetensors

import (
	"errors"
	"strconv"
)

// ErrFormat is wrapped by every error about a malformed safetensors file
// or index.
var ErrFormat = errors.New("safetensors: invalid file")

// ErrNotFound is wrapped by errors about a tensor that is not there.
var ErrNotFound = errors.New("safetensors: tensor not found")

// FormatError reports a malformed file or index: the file, the tensor
// (empty when the fault is not in one tensor's entry) and what is wrong.
// It unwraps to ErrFormat. Its message is one line.
type FormatError struct {
	File   string // path of the file; empty for Read
	Tensor string
	Msg    string
}

func (e *FormatError) Error() string {
	s := "safetensors: "
	if e.File != "" {
		s += quoteName(e.File) + ": "
	}
	if e.Tensor != "" {
		s += "tensor " + strconv.Quote(clip(e.Tensor)) + ": "
	}
	return s + e.Msg
}

// Unwrap returns ErrFormat.
func (e *FormatError) Unwrap() error { return ErrFormat }

// clip shortens s to 80 bytes for messages.
func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}

// quoteName returns a path as it is when it is printable on one line, and
// quoted otherwise.
func quoteName(s string) string {
	for _, r := range s {
		if r < 0x20 || r == 0x7f || r == '\u2028' || r == '\u2029' {
			return strconv.Quote(s)
		}
	}
	return s
}
