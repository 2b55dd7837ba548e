// Package gradcheck compares the analytic gradients of a graph.Node (or of a
// pair of forward/backward functions) with central finite differences.
//
// The check reduces the node's output y to a scalar with a fixed random
// projection, L = Σ r⊙y, so that a single Backward call with outputGradient r
// yields dL/dx for every input x and accumulates dL/dp into every parameter p.
// It then perturbs each input and parameter element by ±Eps in place (always
// restoring it), evaluates L in float64 and forms (L(x+h) − L(x−h)) / 2h,
// where 2h is the perturbation actually representable in T. An element
// passes when |analytic − numeric| ≤ ATol + RTol·max(|analytic|, |numeric|).
//
// Every differentiable op and layer in Zerfoo has a test that calls Check.
//
// Check also verifies the Node contract that a gradient check can see:
// Backward returns one gradient per input with the input's shape (or nil for
// an input listed in Options.Skip), and Forward leaves its inputs unchanged.
package gradcheck

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"

	"github.com/zerfoo/zerfoo/graph"
	"github.com/zerfoo/zerfoo/numeric"
	"github.com/zerfoo/zerfoo/tensor"
)

// ErrMismatch is the sentinel wrapped by a *MismatchError: some analytic
// gradients disagree with finite differences.
var ErrMismatch = errors.New("gradcheck: gradient mismatch")

// ErrContract is wrapped by errors reporting that a node broke the Node
// contract (wrong number or shape of gradients, Forward modifying inputs).
var ErrContract = errors.New("gradcheck: node contract violated")

// Options tunes a gradient check. The zero value picks defaults suited to
// the element type (see Defaults).
type Options struct {
	// Eps is the finite-difference step. 0 means the type's default.
	Eps float64
	// ATol and RTol bound |analytic − numeric| by ATol + RTol·max(|a|, |n|).
	// 0 means the type's default.
	ATol, RTol float64
	// Skip lists input indices that are not differentiable (index or
	// shape inputs). Their gradients are neither required nor checked.
	Skip []int
	// MaxElems, when positive, checks at most this many elements of each
	// input and parameter, chosen deterministically (always including the
	// first and last element).
	MaxElems int
	// Seed seeds the projection r and the element subsampling.
	Seed uint64
	// Report is how many of the worst mismatches the error lists
	// (default 5).
	Report int
}

// Converter converts between an element type and float64. Pass one to
// CheckConv for element types other than float32 and float64.
type Converter[T tensor.Numeric] interface {
	ToFloat64(T) float64
	FromFloat64(float64) T
}

// Defaults returns the tolerances Check uses for element type T when the
// corresponding Options fields are zero: for float64 Eps 1e-6, ATol 1e-7,
// RTol 1e-5; for float32 Eps 1e-2, ATol 1e-3, RTol 1e-2; for the 16- and
// 8-bit types (a coarse check only) Eps 0.125, ATol 0.05, RTol 0.1.
func Defaults[T tensor.Numeric]() Options {
	switch numeric.DTypeOf[T]() {
	case numeric.Float64:
		return Options{Eps: 1e-6, ATol: 1e-7, RTol: 1e-5, Report: 5}
	case numeric.Float32:
		return Options{Eps: 1e-2, ATol: 1e-3, RTol: 1e-2, Report: 5}
	}
	return Options{Eps: 0.125, ATol: 0.05, RTol: 0.1, Report: 5}
}

// Func is a differentiable function given as closures, for layers not shaped
// like a graph.Node. Forward and Backward follow the graph.Node contract;
// Parameters lists the parameters whose gradients Backward accumulates.
type Func[T tensor.Numeric] struct {
	Forward    func(ctx context.Context, inputs ...*tensor.Tensor[T]) (*tensor.Tensor[T], error)
	Backward   func(ctx context.Context, outputGradient *tensor.Tensor[T], inputs ...*tensor.Tensor[T]) ([]*tensor.Tensor[T], error)
	Parameters []*graph.Parameter[T]
}

// Mismatch is one element whose analytic and numeric gradients disagree.
type Mismatch struct {
	// Where is "input i" or "parameter NAME".
	Where string
	// Index is the flat (row-major) element index.
	Index int
	// Analytic and Numeric are the two gradient values.
	Analytic, Numeric float64
	// Excess is |Analytic−Numeric| divided by the allowed error (> 1).
	Excess float64
}

// MismatchError reports the worst mismatching elements of a check.
type MismatchError struct {
	// Op names what was checked (the node's OpType, or "func").
	Op string
	// Checked is the number of elements compared; Failed how many failed.
	Checked, Failed int
	// Worst holds up to Options.Report mismatches, worst first.
	Worst []Mismatch
}

func (e *MismatchError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "gradcheck: %s: %d of %d gradient elements mismatch", e.Op, e.Failed, e.Checked)
	for _, m := range e.Worst {
		fmt.Fprintf(&b, "; %s [%d]: analytic %.6g, numeric %.6g", m.Where, m.Index, m.Analytic, m.Numeric)
	}
	return b.String()
}

// Unwrap returns ErrMismatch.
func (e *MismatchError) Unwrap() error { return ErrMismatch }

// Check runs a gradient check of node on inputs for T = float32 or float64.
// It returns nil when every checked gradient element agrees, a
// *MismatchError (wrapping ErrMismatch) when some disagree, an error wrapping
// ErrContract when the node breaks the Node contract, or the node's own error.
// The inputs are restored to their original values before Check returns;
// parameter gradients are overwritten with the analytic gradient.
func Check[T tensor.Numeric](ctx context.Context, node graph.Node[T], inputs []*tensor.Tensor[T], opt Options) error {
	return CheckConv(ctx, node, inputs, nil, opt)
}

// CheckConv is Check for any element type: conv converts elements to and
// from float64 (numeric.Arithmetic[T] implementations satisfy Converter).
// conv may be nil for float32 and float64.
func CheckConv[T tensor.Numeric](ctx context.Context, node graph.Node[T], inputs []*tensor.Tensor[T], conv Converter[T], opt Options) error {
	if node == nil {
		return errors.New("gradcheck: nil node")
	}
	f := Func[T]{Forward: node.Forward, Backward: node.Backward, Parameters: node.Parameters()}
	return check(ctx, node.OpType(), f, inputs, conv, opt)
}

// CheckFunc runs a gradient check of the closures in f on inputs. conv may
// be nil for float32 and float64. See Check for the results.
func CheckFunc[T tensor.Numeric](ctx context.Context, f Func[T], inputs []*tensor.Tensor[T], conv Converter[T], opt Options) error {
	if f.Forward == nil || f.Backward == nil {
		return errors.New("gradcheck: Func needs Forward and Backward")
	}
	return check(ctx, "func", f, inputs, conv, opt)
}

// floatConv converts float32 and float64 to and from float64.
type floatConv[T tensor.Numeric] struct{}

func (floatConv[T]) ToFloat64(v T) float64 {
	switch x := any(v).(type) {
	case float32:
		return float64(x)
	case float64:
		return x
	}
	return math.NaN()
}

func (floatConv[T]) FromFloat64(f float64) T {
	var z T
	switch any(z).(type) {
	case float32:
		return any(float32(f)).(T)
	case float64:
		return any(f).(T)
	}
	return z
}

// target is one tensor whose elements are perturbed, with its analytic
// gradient.
type target[T tensor.Numeric] struct {
	where string
	value *tensor.Tensor[T]
	grad  *tensor.Tensor[T]
}

func check[T tensor.Numeric](ctx context.Context, op string, f Func[T], inputs []*tensor.Tensor[T], conv Converter[T], opt Options) error {
	if conv == nil {
		dt := numeric.DTypeOf[T]()
		if dt != numeric.Float32 && dt != numeric.Float64 {
			return fmt.Errorf("gradcheck: %s: element type %v needs a Converter", op, dt)
		}
		conv = floatConv[T]{}
	}
	opt = withDefaults[T](opt)
	for i, in := range inputs {
		if in == nil {
			return fmt.Errorf("gradcheck: %s: input %d is nil", op, i)
		}
	}

	// Forward, checking that the inputs are left unchanged.
	saved := make([]*tensor.Tensor[T], len(inputs))
	for i, in := range inputs {
		saved[i] = in.Copy()
	}
	y, err := f.Forward(ctx, inputs...)
	if err != nil {
		return fmt.Errorf("gradcheck: %s: forward: %w", op, err)
	}
	if y == nil {
		return fmt.Errorf("%w: %s: Forward returned a nil tensor", ErrContract, op)
	}
	for i, in := range inputs {
		if !slices.Equal(in.Data(), saved[i].Data()) || !tensor.SameShape(in.Shape(), saved[i].Shape()) {
			return fmt.Errorf("%w: %s: Forward modified input %d", ErrContract, op, i)
		}
	}

	// Projection r and the analytic gradients.
	rng := rand.New(rand.NewPCG(opt.Seed, 0x9e3779b97f4a7c15))
	r := make([]float64, y.Size())
	rT := make([]T, y.Size())
	for i := range r {
		rT[i] = conv.FromFloat64(2*rng.Float64() - 1)
		r[i] = conv.ToFloat64(rT[i]) // the projection exactly as T holds it
	}
	rTensor, err := tensor.New(y.Shape(), rT)
	if err != nil {
		return fmt.Errorf("gradcheck: %s: %w", op, err)
	}
	for _, p := range f.Parameters {
		p.ZeroGradient()
	}
	grads, err := f.Backward(ctx, rTensor, inputs...)
	if err != nil {
		return fmt.Errorf("gradcheck: %s: backward: %w", op, err)
	}
	if len(grads) != len(inputs) {
		return fmt.Errorf("%w: %s: Backward returned %d gradients for %d inputs", ErrContract, op, len(grads), len(inputs))
	}

	var targets []target[T]
	for i, in := range inputs {
		if slices.Contains(opt.Skip, i) {
			continue
		}
		g := grads[i]
		if g == nil {
			return fmt.Errorf("%w: %s: Backward returned no gradient for input %d", ErrContract, op, i)
		}
		if !tensor.SameShape(g.Shape(), in.Shape()) {
			return fmt.Errorf("%w: %s: gradient of input %d has shape %v, input has %v", ErrContract, op, i, g.Shape(), in.Shape())
		}
		targets = append(targets, target[T]{where: fmt.Sprintf("input %d", i), value: in, grad: g})
	}
	for _, p := range f.Parameters {
		if p.Value == nil {
			continue
		}
		if p.Gradient == nil {
			return fmt.Errorf("%w: %s: parameter %q has no gradient after Backward", ErrContract, op, p.Name)
		}
		if !tensor.SameShape(p.Gradient.Shape(), p.Value.Shape()) {
			return fmt.Errorf("%w: %s: gradient of parameter %q has shape %v, value has %v", ErrContract, op, p.Name, p.Gradient.Shape(), p.Value.Shape())
		}
		targets = append(targets, target[T]{where: fmt.Sprintf("parameter %q", p.Name), value: p.Value, grad: p.Gradient.Copy()})
	}

	loss := func() (float64, error) {
		out, err := f.Forward(ctx, inputs...)
		if err != nil {
			return 0, err
		}
		if out.Size() != len(r) {
			return 0, fmt.Errorf("%w: %s: output size changed from %d to %d", ErrContract, op, len(r), out.Size())
		}
		s := 0.0
		for i, v := range out.Data() {
			s += r[i] * conv.ToFloat64(v)
		}
		return s, nil
	}

	res := &MismatchError{Op: op}
	for _, tg := range targets {
		data := tg.value.Data()
		for _, idx := range pick(len(data), opt.MaxElems, rng) {
			if err := ctx.Err(); err != nil {
				return err
			}
			orig := data[idx]
			x := conv.ToFloat64(orig)
			xp, xm := conv.FromFloat64(x+opt.Eps), conv.FromFloat64(x-opt.Eps)
			h2 := conv.ToFloat64(xp) - conv.ToFloat64(xm)
			if h2 == 0 {
				return fmt.Errorf("gradcheck: %s: step %g vanishes at %s [%d] = %g", op, opt.Eps, tg.where, idx, x)
			}
			data[idx] = xp
			lp, err := loss()
			if err != nil {
				data[idx] = orig
				return fmt.Errorf("gradcheck: %s: forward: %w", op, err)
			}
			data[idx] = xm
			lm, err := loss()
			data[idx] = orig
			if err != nil {
				return fmt.Errorf("gradcheck: %s: forward: %w", op, err)
			}
			num := (lp - lm) / h2
			ana := conv.ToFloat64(tg.grad.Data()[idx])
			res.Checked++
			allowed := opt.ATol + opt.RTol*math.Max(math.Abs(ana), math.Abs(num))
			diff := math.Abs(ana - num)
			if diff <= allowed && !math.IsNaN(diff) {
				continue
			}
			res.Failed++
			ex := diff / allowed
			if math.IsNaN(ex) {
				ex = math.Inf(1)
			}
			res.Worst = append(res.Worst, Mismatch{Where: tg.where, Index: idx, Analytic: ana, Numeric: num, Excess: ex})
		}
	}
	if res.Failed == 0 {
		return nil
	}
	sort.SliceStable(res.Worst, func(i, j int) bool { return res.Worst[i].Excess > res.Worst[j].Excess })
	if len(res.Worst) > opt.Report {
		res.Worst = res.Worst[:opt.Report]
	}
	return res
}

func withDefaults[T tensor.Numeric](opt Options) Options {
	d := Defaults[T]()
	if opt.Eps <= 0 {
		opt.Eps = d.Eps
	}
	if opt.ATol <= 0 {
		opt.ATol = d.ATol
	}
	if opt.RTol <= 0 {
		opt.RTol = d.RTol
	}
	if opt.Report <= 0 {
		opt.Report = d.Report
	}
	return opt
}

// pick returns the flat indices to check among n elements: all of them, or
// max of them (the first, the last and a random sorted sample in between).
func pick(n, max int, rng *rand.Rand) []int {
	if max <= 0 || n <= max {
		idx := make([]int, n)
		for i := range idx {
			idx[i] = i
		}
		return idx
	}
	if max == 1 {
		return []int{0}
	}
	idx := []int{0, n - 1}
	if max > 2 {
		perm := rng.Perm(n - 2)[:max-2]
		for _, p := range perm {
			idx = append(idx, p+1)
		}
	}
	sort.Ints(idx)
	return idx
}
