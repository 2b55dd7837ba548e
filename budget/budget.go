// Package budget bounds the memory that a model file or a request can make
// Zerfoo allocate.
//
// Every size that comes from outside the program — a tensor shape in a GGUF
// or ONNX file, a context length in model metadata, a max-tokens field in a
// request — is checked against a Limit before the allocation is made, so a
// hostile 7 KB file gets a one-line error naming the tensor instead of a
// makeslice panic or "fatal error: out of memory".
//
// The default limit is three quarters of physical memory; the environment
// variable ZERFOO_MAX_ALLOC (bytes, or a number with a KB/MB/GB/TB or
// KiB/MiB/GiB/TiB suffix) replaces it, and loaders take a Limit option to
// set it per call.
package budget

import (
	"errors"
	"fmt"
	"math"
	"math/bits"
	"os"
	"strconv"
	"strings"
	"sync"
)

// EnvVar names the environment variable that overrides the default limit.
const EnvVar = "ZERFOO_MAX_ALLOC"

// ErrExceeded is wrapped by every error that reports an allocation over the
// budget.
var ErrExceeded = errors.New("allocation exceeds the memory budget")

// Error reports one allocation over the budget. It unwraps to ErrExceeded.
type Error struct {
	What  string // what would have been allocated: "tensor blk.0.attn_q.weight", "ConstantOfShape node c1 output"
	Bytes uint64 // bytes asked for; math.MaxUint64 when the size itself overflows
	Limit int64  // the budget in force
}

func (e *Error) Error() string {
	size := "more than 2^64 bytes"
	if e.Bytes != math.MaxUint64 {
		size = FormatBytes(int64(min(e.Bytes, math.MaxInt64)))
	}
	return fmt.Sprintf("%s needs %s, over the memory budget of %s (set %s to raise it)",
		e.What, size, FormatBytes(e.Limit), EnvVar)
}

func (e *Error) Unwrap() error { return ErrExceeded }

// Limit is a memory budget in bytes. The zero Limit means Default().
type Limit int64

// Bytes returns the budget in bytes, resolving the zero Limit to Default().
func (l Limit) Bytes() int64 {
	if l <= 0 {
		return Default()
	}
	return int64(l)
}

// Check returns an *Error if n bytes exceed the budget. what names the
// allocation ("tensor token_embd.weight") for the message.
func (l Limit) Check(what string, n int64) error {
	if n < 0 {
		return &Error{What: what, Bytes: math.MaxUint64, Limit: l.Bytes()}
	}
	if b := l.Bytes(); n > b {
		return &Error{What: what, Bytes: uint64(n), Limit: b}
	}
	return nil
}

// CheckElems checks count elements of elemSize bytes each, where count is the
// product of dims (a tensor shape, possibly hostile). A negative dimension or
// a product that overflows is reported as over the budget.
func (l Limit) CheckElems(what string, elemSize int, dims ...int) error {
	n, ok := Product(elemSize, dims...)
	if !ok {
		return &Error{What: what, Bytes: math.MaxUint64, Limit: l.Bytes()}
	}
	return l.Check(what, n)
}

// Product returns elemSize × dims[0] × dims[1] … as an int64, and false if
// any factor is negative or the product exceeds math.MaxInt64.
func Product(elemSize int, dims ...int) (int64, bool) {
	if elemSize < 0 {
		return 0, false
	}
	p := uint64(elemSize)
	for _, d := range dims {
		if d < 0 {
			return 0, false
		}
		hi, lo := bits.Mul64(p, uint64(d))
		if hi != 0 || lo > math.MaxInt64 {
			return 0, false
		}
		p = lo
	}
	return int64(p), true
}

// Check checks n bytes against the default budget.
func Check(what string, n int64) error { return Limit(0).Check(what, n) }

// CheckElems checks a shape against the default budget.
func CheckElems(what string, elemSize int, dims ...int) error {
	return Limit(0).CheckElems(what, elemSize, dims...)
}

// fallbackPhysical is assumed when physical memory cannot be read.
const fallbackPhysical = 16 << 30

var def = sync.OnceValue(func() int64 {
	if v := os.Getenv(EnvVar); v != "" {
		n, err := ParseBytes(v)
		if err == nil && n > 0 {
			return n
		}
		fmt.Fprintf(os.Stderr, "budget: %s=%q: want a positive size such as 8GiB; using the default\n", EnvVar, v)
	}
	return defaultFor(physicalMemory())
})

func defaultFor(phys int64) int64 {
	if phys <= 0 {
		phys = fallbackPhysical
	}
	return phys / 4 * 3
}

// Default returns the process-wide budget: ZERFOO_MAX_ALLOC when it is set
// and valid, otherwise three quarters of physical memory (of 16 GiB where
// that cannot be read). It is computed once.
func Default() int64 { return def() }

var units = []struct {
	suffix string
	mult   int64
}{
	{"KIB", 1 << 10}, {"MIB", 1 << 20}, {"GIB", 1 << 30}, {"TIB", 1 << 40},
	{"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"TB", 1e12},
	{"K", 1 << 10}, {"M", 1 << 20}, {"G", 1 << 30}, {"T", 1 << 40},
	{"B", 1},
}

// ParseBytes reads a size such as "512MiB", "8GB", "1.5G" or "1073741824".
// K, M, G and T alone are binary (as in ulimit); KB/MB/GB/TB are decimal.
func ParseBytes(s string) (int64, error) {
	t := strings.ToUpper(strings.TrimSpace(s))
	mult := int64(1)
	for _, u := range units {
		if strings.HasSuffix(t, u.suffix) {
			t, mult = strings.TrimSpace(strings.TrimSuffix(t, u.suffix)), u.mult
			break
		}
	}
	f, err := strconv.ParseFloat(t, 64)
	if err != nil || f < 0 || math.IsNaN(f) || f*float64(mult) >= math.MaxInt64 {
		return 0, fmt.Errorf("budget: %q is not a size in bytes (want e.g. 8GiB, 512MB or 1073741824)", s)
	}
	return int64(f * float64(mult)), nil
}

// FormatBytes writes n in binary units with three significant digits.
func FormatBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	f, i := float64(n), -1
	for f >= unit && i < 5 {
		f /= unit
		i++
	}
	if f >= 999.5 { // %.3g would write 1e+03
		return fmt.Sprintf("%.0f %ciB", f, "KMGTPE"[i])
	}
	return fmt.Sprintf("%.3g %ciB", f, "KMGTPE"[i])
}
