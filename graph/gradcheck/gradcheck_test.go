package gradcheck

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/zerfoo/zerfoo/graph"
	"github.com/zerfoo/zerfoo/numeric"
	"github.com/zerfoo/zerfoo/tensor"
)

type float interface{ float32 | float64 }

// scaleTanh is a test node: y[i] = w[i] · tanh(a[i]) · b[i] + a[i]², with a
// parameter w and two inputs. The bug field breaks its Backward on purpose.
type scaleTanh[T float] struct {
	w   *graph.Parameter[T]
	bug string
}

func (n *scaleTanh[T]) OpType() string                    { return "ScaleTanh" }
func (n *scaleTanh[T]) Attributes() map[string]any        { return nil }
func (n *scaleTanh[T]) OutputShape() []int                { return n.w.Value.Shape() }
func (n *scaleTanh[T]) Parameters() []*graph.Parameter[T] { return []*graph.Parameter[T]{n.w} }

func (n *scaleTanh[T]) Forward(_ context.Context, in ...*tensor.Tensor[T]) (*tensor.Tensor[T], error) {
	a, b, w := in[0].Data(), in[1].Data(), n.w.Value.Data()
	y := make([]T, len(a))
	for i := range y {
		y[i] = w[i]*T(math.Tanh(float64(a[i])))*b[i] + a[i]*a[i]
	}
	if n.bug == "modify" {
		a[0] += 1
	}
	return tensor.New(in[0].Shape(), y)
}

func (n *scaleTanh[T]) Backward(_ context.Context, g *tensor.Tensor[T], in ...*tensor.Tensor[T]) ([]*tensor.Tensor[T], error) {
	a, b, w, gy := in[0].Data(), in[1].Data(), n.w.Value.Data(), g.Data()
	ga, gb, gw := make([]T, len(a)), make([]T, len(a)), n.w.Gradient.Data()
	for i := range a {
		th := T(math.Tanh(float64(a[i])))
		ga[i] = gy[i] * (w[i]*(1-th*th)*b[i] + 2*a[i])
		gb[i] = gy[i] * w[i] * th
		gw[i] += gy[i] * th * b[i]
	}
	switch n.bug {
	case "input":
		ga[len(ga)-1] *= 1.1
	case "param":
		gw[1] = -gw[1]
	case "count":
		return []*tensor.Tensor[T]{tensor.Must(tensor.New(in[0].Shape(), ga))}, nil
	case "shape":
		return []*tensor.Tensor[T]{tensor.Must(tensor.New([]int{len(ga)}, ga)), tensor.Must(tensor.New(in[1].Shape(), gb))}, nil
	case "nograd":
		return []*tensor.Tensor[T]{tensor.Must(tensor.New(in[0].Shape(), ga)), nil}, nil
	}
	return []*tensor.Tensor[T]{tensor.Must(tensor.New(in[0].Shape(), ga)), tensor.Must(tensor.New(in[1].Shape(), gb))}, nil
}

func randTensor[T float](rng *rand.Rand, shape ...int) *tensor.Tensor[T] {
	t := tensor.Must(tensor.New[T](shape, nil))
	for i := range t.Data() {
		t.Data()[i] = T(2*rng.Float64() - 1)
	}
	return t
}

func newScaleTanh[T float](rng *rand.Rand, bug string, shape ...int) (*scaleTanh[T], []*tensor.Tensor[T]) {
	w := &graph.Parameter[T]{Name: "w", Value: randTensor[T](rng, shape...), Gradient: tensor.Must(tensor.New[T](shape, nil))}
	return &scaleTanh[T]{w: w, bug: bug}, []*tensor.Tensor[T]{randTensor[T](rng, shape...), randTensor[T](rng, shape...)}
}

func runBugs[T float](t *testing.T) {
	tests := []struct {
		bug     string
		wantErr error  // nil: must pass
		wantMsg string // substring of the error
	}{
		{bug: ""},
		{bug: "input", wantErr: ErrMismatch, wantMsg: "input 0 [5]"},
		{bug: "param", wantErr: ErrMismatch, wantMsg: `parameter "w" [1]`},
		{bug: "count", wantErr: ErrContract, wantMsg: "1 gradients for 2 inputs"},
		{bug: "shape", wantErr: ErrContract, wantMsg: "gradient of input 0 has shape [6]"},
		{bug: "nograd", wantErr: ErrContract, wantMsg: "no gradient for input 1"},
		{bug: "modify", wantErr: ErrContract, wantMsg: "modified input 0"},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("bug=%q", tc.bug), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, 2))
			node, in := newScaleTanh[T](rng, tc.bug, 2, 3)
			orig := []*tensor.Tensor[T]{in[0].Copy(), in[1].Copy()}
			err := Check[T](context.Background(), node, in, Options{})
			if tc.wantErr == nil {
				if err != nil {
					t.Fatalf("got error %v, want nil", err)
				}
			} else {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("got error %v, want one wrapping %v", err, tc.wantErr)
				}
				if !strings.Contains(err.Error(), tc.wantMsg) {
					t.Fatalf("got error %q, want it to mention %q", err, tc.wantMsg)
				}
			}
			if tc.bug != "modify" {
				for i := range in {
					for j, v := range in[i].Data() {
						if v != orig[i].Data()[j] {
							t.Fatalf("input %d [%d] = %v after Check, want restored %v", i, j, v, orig[i].Data()[j])
						}
					}
				}
			}
		})
	}
}

func TestCheckFloat64(t *testing.T) { runBugs[float64](t) }
func TestCheckFloat32(t *testing.T) { runBugs[float32](t) }

func TestMismatchDetails(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	node, in := newScaleTanh[float64](rng, "input", 2, 3)
	err := Check[float64](context.Background(), node, in, Options{})
	var me *MismatchError
	if !errors.As(err, &me) {
		t.Fatalf("got %v, want a *MismatchError", err)
	}
	if me.Failed != 1 || me.Checked != 18 {
		t.Fatalf("got %d failed of %d checked, want 1 of 18", me.Failed, me.Checked)
	}
	m := me.Worst[0]
	if m.Where != "input 0" || m.Index != 5 {
		t.Fatalf("got mismatch at %s [%d], want input 0 [5]", m.Where, m.Index)
	}
	if r := m.Analytic / m.Numeric; math.Abs(r-1.1) > 1e-6 {
		t.Fatalf("got analytic/numeric %v, want 1.1 (the injected error)", r)
	}
}

func TestSkipAndMaxElems(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	// With input 1 skipped, a missing gradient for it is fine.
	node, in := newScaleTanh[float64](rng, "nograd", 4, 5)
	if err := Check[float64](context.Background(), node, in, Options{Skip: []int{1}}); err != nil {
		t.Fatalf("with Skip {1}: got %v, want nil", err)
	}
	// MaxElems limits the number of checked elements per tensor: a bug
	// everywhere in input 0 is seen in exactly MaxElems elements of it.
	node, in = newScaleTanh[float64](rng, "", 4, 5)
	f := Func[float64]{
		Forward: node.Forward,
		Backward: func(ctx context.Context, g *tensor.Tensor[float64], in ...*tensor.Tensor[float64]) ([]*tensor.Tensor[float64], error) {
			gs, err := node.Backward(ctx, g, in...)
			if err == nil {
				for i := range gs[0].Data() {
					gs[0].Data()[i] += 1
				}
			}
			return gs, err
		},
		Parameters: node.Parameters(),
	}
	err := CheckFunc(context.Background(), f, in, nil, Options{MaxElems: 7})
	var me *MismatchError
	if !errors.As(err, &me) {
		t.Fatalf("got %v, want a *MismatchError", err)
	}
	if me.Checked != 21 || me.Failed != 7 {
		t.Fatalf("got %d failed of %d checked, want 7 of 21", me.Failed, me.Checked)
	}
}

func TestPick(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	got := pick(100, 10, rng)
	if len(got) != 10 || got[0] != 0 || got[9] != 99 {
		t.Fatalf("pick(100, 10) = %v, want 10 sorted indices from 0 to 99", got)
	}
	for i := 1; i < len(got); i++ {
		if got[i] <= got[i-1] {
			t.Fatalf("pick(100, 10) = %v, want strictly increasing", got)
		}
	}
	if got := pick(3, 10, rng); len(got) != 3 {
		t.Fatalf("pick(3, 10) = %v, want all 3", got)
	}
}

func TestNeedsConverter(t *testing.T) {
	f := Func[int32]{
		Forward: func(_ context.Context, in ...*tensor.Tensor[int32]) (*tensor.Tensor[int32], error) { return in[0], nil },
		Backward: func(_ context.Context, g *tensor.Tensor[int32], _ ...*tensor.Tensor[int32]) ([]*tensor.Tensor[int32], error) {
			return []*tensor.Tensor[int32]{g}, nil
		},
	}
	err := CheckFunc(context.Background(), f, []*tensor.Tensor[int32]{tensor.Scalar[int32](1)}, nil, Options{})
	if err == nil || !strings.Contains(err.Error(), "needs a Converter") {
		t.Fatalf("got %v, want an error asking for a Converter", err)
	}
}

// cubic returns a Func computing y = x³/3 − x in element type T through
// conv, with a derivative x² − 1 that is off by bug.
func cubic[T tensor.Numeric](conv Converter[T], bug float64) Func[T] {
	return Func[T]{
		Forward: func(_ context.Context, in ...*tensor.Tensor[T]) (*tensor.Tensor[T], error) {
			y := make([]T, in[0].Size())
			for i, v := range in[0].Data() {
				x := conv.ToFloat64(v)
				y[i] = conv.FromFloat64(x*x*x/3 - x)
			}
			return tensor.New(in[0].Shape(), y)
		},
		Backward: func(_ context.Context, g *tensor.Tensor[T], in ...*tensor.Tensor[T]) ([]*tensor.Tensor[T], error) {
			gx := make([]T, in[0].Size())
			for i, v := range in[0].Data() {
				x := conv.ToFloat64(v)
				gx[i] = conv.FromFloat64(conv.ToFloat64(g.Data()[i]) * (x*x - 1 + bug))
			}
			gt, err := tensor.New(in[0].Shape(), gx)
			return []*tensor.Tensor[T]{gt}, err
		},
	}
}

func checkReduced[T tensor.Numeric](t *testing.T, conv Converter[T]) {
	x := tensor.Must(tensor.New[T]([]int{5}, nil))
	for i, v := range []float64{-1.5, -0.75, 0.25, 1, 1.75} {
		x.Data()[i] = conv.FromFloat64(v)
	}
	if err := CheckFunc(context.Background(), cubic(conv, 0), []*tensor.Tensor[T]{x}, conv, Options{}); err != nil {
		t.Errorf("correct derivative: got %v, want nil", err)
	}
	if err := CheckFunc(context.Background(), cubic(conv, 0.5), []*tensor.Tensor[T]{x}, conv, Options{}); !errors.Is(err, ErrMismatch) {
		t.Errorf("derivative off by 0.5: got %v, want ErrMismatch", err)
	}
}

func TestCheckReducedPrecision(t *testing.T) {
	t.Run("Float16", func(t *testing.T) { checkReduced[numeric.Float16](t, numeric.Float16Ops{}) })
	t.Run("BFloat16", func(t *testing.T) { checkReduced[numeric.BFloat16](t, numeric.BFloat16Ops{}) })
}
