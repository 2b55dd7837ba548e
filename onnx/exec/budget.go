package exec

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sync"
	"unsafe"

	"github.com/zerfoo/zerfoo/budget"
	"github.com/zerfoo/zerfoo/numeric"
	"github.com/zerfoo/zerfoo/tensor"
)

// WithBudget sets the memory budget of the Program: every constant decoded
// at compile time, and at run time every tensor a kernel is about to
// allocate (with the scratch it needs) on top of the values the run
// already holds, must fit in it. The default is budget.Default()
// (ZERFOO_MAX_ALLOC, or ¾ of physical memory). Errors wrap
// budget.ErrExceeded and name the node, its op and the output's type and
// shape.
func WithBudget(l budget.Limit) CompileOption { return func(c *compileConfig) { c.budget = l } }

// meter accounts one Run's memory: the bytes of the values it holds (each
// storage counted once however many views share it) against the budget.
// Only Run writes it, between steps; kernels read it through their context.
type meter struct {
	limit int64
	live  int64
	// out, when positive, bounds each checked output by itself, its
	// scratch not counted (constant folding's foldLimit).
	out  int64
	refs map[unsafe.Pointer]*held
	// The run's arena (arena.go; nil: no recycling), the buffers it gave
	// this run, and whether recycling stopped.
	arena     *arena
	mu        sync.Mutex
	given     map[unsafe.Pointer][]float32
	noRecycle bool
}

// held is one counted storage: its size and how many value slots use it.
type held struct {
	bytes int64
	n     int
}

type meterKey struct{}

// withMeter returns ctx carrying m for the kernels' checks.
func withMeter(ctx context.Context, m *meter) context.Context {
	return context.WithValue(ctx, meterKey{}, m)
}

// checkOut checks a new tensor of element type dt and the given shape
// against the run's budget (see checkWork).
func checkOut(ctx context.Context, dt numeric.DType, shape []int) error {
	return checkWork(ctx, dt.Size(), dt, shape)
}

// checkWork checks that a kernel may allocate perElem bytes per element of
// an output of element type dt and the given shape (the output itself and
// its scratch: converted inputs, index tables), on top of what the run
// already holds. A shape without elements is checked as if its zero dims
// were 1, so that no loop over its other dims can run for long. Without a
// meter in ctx (a kernel called outside Run) the default budget applies.
func checkWork(ctx context.Context, perElem int, dt numeric.DType, shape []int) error {
	limit, live, out := budget.Default(), int64(0), int64(0)
	if m, ok := ctx.Value(meterKey{}).(*meter); ok {
		limit, live, out = m.limit, m.live, m.out
	}
	if out > 0 {
		if n, ok := budget.Product(max(dt.Size(), 1), shape...); !ok || n > out {
			return &budget.Error{What: fmt.Sprintf("folded output %s%v", dt, shape), Bytes: size(n, ok), Limit: out}
		}
	}
	if slices.Contains(shape, 0) {
		ext := make([]int, len(shape))
		for i, d := range shape {
			ext[i] = max(d, 1)
		}
		if e, ok := budget.Product(max(perElem, 1), ext...); !ok || e > limit {
			return &budget.Error{What: fmt.Sprintf("output %s%v (no elements, checked as if its zero dims were 1)", dt, shape), Bytes: size(e, ok), Limit: limit}
		}
		return nil
	}
	n, ok := budget.Product(perElem, shape...)
	if !ok || n > limit-live {
		what := fmt.Sprintf("output %s%v", dt, shape)
		if perElem != dt.Size() {
			what += " and its scratch space"
		}
		if live > 0 && ok {
			what = fmt.Sprintf("%s (%s) with the %s of values held", what, budget.FormatBytes(n), budget.FormatBytes(live))
			n += live // no overflow: both are at most limit
		}
		return &budget.Error{What: what, Bytes: size(n, ok), Limit: limit}
	}
	return nil
}

// checkLike checks perElem bytes per element of x's shape: the scratch and
// output of an op whose output has x's shape.
func checkLike(ctx context.Context, perElem int, x tensor.Any) error {
	return checkWork(ctx, perElem, x.DType(), x.Shape())
}

func size(n int64, ok bool) uint64 {
	if !ok {
		return math.MaxUint64
	}
	return uint64(n)
}

// storage returns the address and size in bytes of v's elements (nil and 0
// for an empty tensor or an unknown type).
func storage(v tensor.Any) (unsafe.Pointer, int64) {
	switch t := v.(type) {
	case *tensor.Tensor[float32]:
		return storageOf(t)
	case *tensor.Tensor[float64]:
		return storageOf(t)
	case *tensor.Tensor[numeric.Float16]:
		return storageOf(t)
	case *tensor.Tensor[numeric.BFloat16]:
		return storageOf(t)
	case *tensor.Tensor[int8]:
		return storageOf(t)
	case *tensor.Tensor[uint8]:
		return storageOf(t)
	case *tensor.Tensor[int16]:
		return storageOf(t)
	case *tensor.Tensor[int32]:
		return storageOf(t)
	case *tensor.Tensor[int64]:
		return storageOf(t)
	case *tensor.Tensor[uint16]:
		return storageOf(t)
	case *tensor.Tensor[uint32]:
		return storageOf(t)
	case *tensor.Tensor[uint64]:
		return storageOf(t)
	}
	return nil, 0
}

func storageOf[T tensor.Numeric](t *tensor.Tensor[T]) (unsafe.Pointer, int64) {
	d := t.Data()
	if len(d) == 0 {
		return nil, 0
	}
	return unsafe.Pointer(unsafe.SliceData(d)), int64(len(d)) * int64(unsafe.Sizeof(d[0]))
}

// hold counts v, a step's output, and returns the storage to release when
// its slot is freed (nil: not counted). An output that shares storage with
// an input of the step is a view: it adds a reference when that input is
// counted and nothing when it is a constant or a feed.
func (m *meter) hold(v tensor.Any, in []tensor.Any, inPtr []unsafe.Pointer) unsafe.Pointer {
	p, n := storage(v)
	if p == nil {
		return nil
	}
	for i, x := range in {
		if x != nil && storagePtr(x) == p {
			if inPtr[i] == nil {
				return nil
			}
			m.refs[p].n++
			return p
		}
	}
	if h, ok := m.refs[p]; ok { // a kernel's cached output (Constant) seen before
		h.n++
		return p
	}
	m.refs[p] = &held{bytes: n, n: 1}
	m.live += n
	return p
}

// release drops one reference to storage p.
func (m *meter) release(p unsafe.Pointer) {
	if p == nil {
		return
	}
	h := m.refs[p]
	if h.n--; h.n == 0 {
		m.live -= h.bytes
		delete(m.refs, p)
	}
}

func storagePtr(v tensor.Any) unsafe.Pointer {
	p, _ := storage(v)
	return p
}
