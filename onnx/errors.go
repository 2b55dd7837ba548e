package onnx

import (
	"errors"
	"strconv"
	"strings"
)

// Sentinel errors. Errors returned by this package wrap one of them (or an
// I/O error) inside an *Error; test with errors.Is.
var (
	// ErrInvalid: the file or model breaks the ONNX format (bad protobuf,
	// wrong data length, undefined input, escaping path, ...).
	ErrInvalid = errors.New("invalid model")
	// ErrUnsupported: the model is well formed but uses something this
	// package does not handle (a data type, segmented tensors, ...).
	ErrUnsupported = errors.New("unsupported")
)

// Error describes a problem with a model and says where it is. Its message
// reads "onnx: FILE: node NAME (OP): tensor NAME: MSG", leaving out the
// parts that are unknown.
type Error struct {
	File   string // model file (or name given in ReadOptions); may be empty
	Node   string // node name, or "#i" for an unnamed node; may be empty
	Op     string // node op type, "domain.op" outside the default domain
	Tensor string // tensor or value name; may be empty
	Msg    string // what is wrong
	Err    error  // ErrInvalid, ErrUnsupported or an underlying error
}

// Error implements error.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("onnx: ")
	if e.File != "" {
		b.WriteString(e.File)
		b.WriteString(": ")
	}
	if e.Node != "" || e.Op != "" {
		b.WriteString("node ")
		if e.Node != "" {
			b.WriteString(quoteName(e.Node))
			if e.Op != "" {
				b.WriteString(" ")
			}
		}
		if e.Op != "" {
			b.WriteString("(" + e.Op + ")")
		}
		b.WriteString(": ")
	}
	if e.Tensor != "" {
		b.WriteString("tensor ")
		b.WriteString(quoteName(e.Tensor))
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	if e.Err != nil && e.Err != ErrInvalid && e.Err != ErrUnsupported {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Unwrap returns the sentinel or underlying error.
func (e *Error) Unwrap() error { return e.Err }

func quoteName(s string) string {
	if strings.HasPrefix(s, "#") {
		return s
	}
	const max = 200
	if len(s) > max {
		s = s[:max] + "..."
	}
	return strconv.Quote(s)
}
