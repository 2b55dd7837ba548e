package gguf

import (
	"errors"
	"fmt"
)

// ErrFormat is wrapped by every error about a malformed or unsupported GGUF
// file.
var ErrFormat = errors.New("gguf: invalid file")

// ErrNotFound is wrapped by errors about a missing metadata key or tensor.
var ErrNotFound = errors.New("gguf: not found")

// FormatError reports a malformed file: what is wrong and the byte offset in
// the file where the offending item starts. It unwraps to ErrFormat.
type FormatError struct {
	Offset int64
	Msg    string
}

func (e *FormatError) Error() string { return fmt.Sprintf("gguf: %s (at offset %d)", e.Msg, e.Offset) }

// Unwrap returns ErrFormat.
func (e *FormatError) Unwrap() error { return ErrFormat }

func formatErr(off int64, format string, args ...any) error {
	return &FormatError{Offset: off, Msg: fmt.Sprintf(format, args...)}
}
