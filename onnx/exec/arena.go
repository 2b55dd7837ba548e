package exec

import (
	"context"
	"sync"
	"unsafe"

	"github.com/zerfoo/zerfoo/tensor"
)

// The float32 buffers of a Program's intermediate values are recycled
// between steps and between runs, as ONNX Runtime's arena does: a kernel
// that asks newFloats for its output gets a buffer of that length that an
// earlier step freed, when there is one, instead of fresh memory (which
// the Go runtime must zero and, for large buffers, the OS must map).
//
// A buffer goes back to the Program's free list only when the run that
// got it frees the last value slot reading it (the meter's count drops to
// zero), no value the run still holds lies inside it (a view that starts
// elsewhere in it), and the run has produced no sequence or optional
// (which hold tensors the meter does not count). An output that no node
// reads (an optional output the graph leaves unnamed) goes back right
// after its step, under the same conditions. Graph outputs are never
// freed, so what Run returns is never reused. Buffers from anywhere else
// (constants, feeds, other kernels' allocations) are never recycled.

// arena is a Program's free list of float32 buffers by length.
type arena struct {
	mu     sync.Mutex
	free   map[int][][]float32
	bytes  int64 // held in free
	limit  int64 // most bytes held
	reused int64 // buffers handed out again (tests)
}

func newArena(limit int64) *arena {
	return &arena{free: map[int][][]float32{}, limit: limit}
}

func (a *arena) get(n int) []float32 {
	a.mu.Lock()
	defer a.mu.Unlock()
	l := a.free[n]
	if len(l) == 0 {
		return nil
	}
	b := l[len(l)-1]
	l[len(l)-1] = nil
	a.free[n] = l[:len(l)-1]
	a.bytes -= 4 * int64(n)
	a.reused++
	return b
}

func (a *arena) put(b []float32) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.bytes+4*int64(len(b)) > a.limit {
		return
	}
	a.free[len(b)] = append(a.free[len(b)], b)
	a.bytes += 4 * int64(len(b))
}

// newFloats returns a float32 buffer of n elements for a kernel's output
// (its contents are undefined: the kernel must write every element). In
// a Run it comes from the Program's arena when one of that length is free;
// the caller has checked the allocation against the budget.
func newFloats(ctx context.Context, n int) []float32 {
	m, ok := ctx.Value(meterKey{}).(*meter)
	if !ok || m.arena == nil || n < arenaMin {
		return make([]float32, n)
	}
	b := m.arena.get(n)
	if b == nil {
		b = make([]float32, n)
	}
	m.mu.Lock()
	m.given[unsafe.Pointer(unsafe.SliceData(b))] = b
	m.mu.Unlock()
	return b
}

// arenaMin is the smallest buffer (in elements) worth recycling.
const arenaMin = 1024

// recycle returns storage p, whose last reference the run just dropped,
// to the arena when the run got it from there and nothing the run holds
// lies inside it.
func (m *meter) recycle(p unsafe.Pointer) {
	if m.arena == nil || p == nil || m.noRecycle {
		return
	}
	m.mu.Lock()
	b, ok := m.given[p]
	delete(m.given, p)
	m.mu.Unlock()
	if !ok || m.refs[p] != nil {
		return
	}
	lo := uintptr(p)
	hi := lo + 4*uintptr(len(b))
	for q := range m.refs {
		if a := uintptr(q); a >= lo && a < hi {
			return // a view into it is still held
		}
	}
	m.arena.put(b)
}

// releaseFreed drops the reference of a freed slot to storage p and
// recycles p when that was the last one.
func (m *meter) releaseFreed(p unsafe.Pointer) {
	if p == nil {
		return
	}
	last := m.refs[p] != nil && m.refs[p].n == 1
	m.release(p)
	if last {
		m.recycle(p)
	}
}

// noteValue stops recycling for the rest of the run once a step produces
// something other than a tensor (a sequence or optional may hold tensors
// the meter does not count).
func (m *meter) noteValue(v tensor.Any) {
	if !isTensor(v) {
		m.noRecycle = true
	}
}
