package qgemm

import (
	"errors"
	"testing"

	"github.com/zerfoo/zerfoo/internal/workerpool"
)

// panicSource is a Source whose Block panics for row bad.
type panicSource struct{ n, k, bad int }

func (s panicSource) Dims() (n, k, bits, blockSize int) { return s.n, s.k, 4, 32 }
func (s panicSource) HasZeroPoints() bool               { return false }
func (s panicSource) Block(n, b int, codes []uint8) (float32, uint8) {
	if n == s.bad {
		panic("bad row")
	}
	return 1, 8
}

// TestPackSourcePanic checks that a Source panicking inside Pack's
// parallel loop comes back as an error instead of ending the process.
func TestPackSourcePanic(t *testing.T) {
	for _, bad := range []int{0, 255, 1500} {
		_, err := Pack(panicSource{n: 2048, k: 64, bad: bad})
		var pe *workerpool.PanicError
		if !errors.As(err, &pe) || pe.Value != "bad row" {
			t.Errorf("Pack with Block panicking on row %d: got %v, want a *workerpool.PanicError of %q", bad, err, "bad row")
		}
	}
	if _, err := Pack(panicSource{n: 2048, k: 64, bad: -1}); err != nil {
		t.Fatalf("Pack after panics: %v", err)
	}
}
