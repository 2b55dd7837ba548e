package graph_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/zerfoo/zerfoo/graph"
	"github.com/zerfoo/zerfoo/tensor"
)

var ctx = context.Background()

func build(t *testing.T, b *graph.Builder[float32]) *graph.Graph[float32] {
	t.Helper()
	g, err := b.Build()
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	return g
}

func near(a, b []float32, tol float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		d := a[i] - b[i]
		if d < -tol || d > tol {
			return false
		}
	}
	return true
}

// TestFanOut: a = 2x; y = sum(a⊙a + a). dy/dx = 2(2a + 1) = 8x + 2, which
// needs the gradients of a's three consumers summed, including two
// contributions from the same Mul node and a shared tensor from Add.
func TestFanOut(t *testing.T) {
	b := graph.NewBuilder[float32]("fanout", nil)
	x := b.Input("x", []int{3})
	a := b.Add("a", newScale(2), x)
	sq := b.Add("sq", newMul(), a, a)
	s := b.Add("s", newAdd(), sq, a)
	y := b.Add("y", newSum(), s)
	b.Output(y)
	g := build(t, b)

	tape, err := g.Forward(ctx, vec(1, 2, 3))
	if err != nil {
		t.Fatal(err)
	}
	out, err := tape.Output(0)
	if err != nil {
		t.Fatal(err)
	}
	// a = 2,4,6: a²+a = 6, 20, 42 → 68.
	if got := out.Data()[0]; got != 68 {
		t.Errorf("forward: got %v, want 68", got)
	}
	grads, err := g.Backward(ctx, tape)
	if err != nil {
		t.Fatal(err)
	}
	if want := []float32{10, 18, 26}; !slices.Equal(grads[0].Data(), want) {
		t.Errorf("dy/dx: got %v, want %v", grads[0].Data(), want)
	}
	// The Add node returned the output gradient for both inputs; the graph
	// must not have written into it. A second Backward must agree.
	grads2, err := g.Backward(ctx, tape)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(grads2[0].Data(), grads[0].Data()) {
		t.Errorf("second Backward: got %v, want %v", grads2[0].Data(), grads[0].Data())
	}
	if v, ok := tape.Value("a"); !ok || !slices.Equal(v.(f32).Data(), []float32{2, 4, 6}) {
		t.Errorf("tape value a: got %v, want [2 4 6]", v)
	}
}

// TestSharedGradient: Add returns its output gradient as the gradient of
// both inputs; summing them must not write into the caller's tensor.
func TestSharedGradient(t *testing.T) {
	b := graph.NewBuilder[float32]("shared", nil)
	x := b.Input("x", []int{2})
	b.Output(b.Add("y", newAdd(), x, x))
	g := build(t, b)
	tape, err := g.Forward(ctx, vec(3, 4))
	if err != nil {
		t.Fatal(err)
	}
	og := vec(1, 5)
	grads, err := g.Backward(ctx, tape, og)
	if err != nil {
		t.Fatal(err)
	}
	if want := []float32{2, 10}; !slices.Equal(grads[0].Data(), want) {
		t.Errorf("dx: got %v, want %v", grads[0].Data(), want)
	}
	if want := []float32{1, 5}; !slices.Equal(og.Data(), want) {
		t.Errorf("output gradient after Backward: got %v, want it unchanged %v", og.Data(), want)
	}
}

// TestParameterGradient checks a parameter gradient against hand values,
// its accumulation over calls and explicit output gradients.
func TestParameterGradient(t *testing.T) {
	b := graph.NewBuilder[float32]("dense", nil)
	x := b.Input("x", []int{-1, 2})
	d := newDense("fc", 2, 2, 1, 2, 3, 4) // W = [[1 2] [3 4]]
	h := b.Add("fc", d, x)
	b.Output(h)
	g := build(t, b)
	if ps := g.Parameters(); len(ps) != 1 || ps[0] != d.w {
		t.Fatalf("Parameters: got %v, want [fc.W]", ps)
	}
	xv := mat(1, 2, 1, -1)
	tape, err := g.Forward(ctx, xv)
	if err != nil {
		t.Fatal(err)
	}
	out, _ := tape.Output(0)
	// [1 -1]·W = [1-3, 2-4] = [-2 -2].
	if want := []float32{-2, -2}; !slices.Equal(out.Data(), want) {
		t.Errorf("forward: got %v, want %v", out.Data(), want)
	}
	og := mat(1, 2, 1, 10)
	grads, err := g.Backward(ctx, tape, og)
	if err != nil {
		t.Fatal(err)
	}
	// dx = og·Wᵀ = [1+20, 3+40]; dW = xᵀ·og = [[1 10] [-1 -10]].
	if want := []float32{21, 43}; !slices.Equal(grads[0].Data(), want) {
		t.Errorf("dx: got %v, want %v", grads[0].Data(), want)
	}
	if want := []float32{1, 10, -1, -10}; !slices.Equal(d.w.Gradient.Data(), want) {
		t.Errorf("dW: got %v, want %v", d.w.Gradient.Data(), want)
	}
	if _, err := g.Backward(ctx, tape, og); err != nil {
		t.Fatal(err)
	}
	if want := []float32{2, 20, -2, -20}; !slices.Equal(d.w.Gradient.Data(), want) {
		t.Errorf("dW after two Backward calls: got %v, want %v", d.w.Gradient.Data(), want)
	}
	d.w.ZeroGradient()
	if want := []float32{0, 0, 0, 0}; !slices.Equal(d.w.Gradient.Data(), want) {
		t.Errorf("dW after ZeroGradient: got %v, want %v", d.w.Gradient.Data(), want)
	}
	// A nil output gradient contributes nothing.
	grads, err = g.Backward(ctx, tape, nil)
	if err != nil || grads[0] != nil {
		t.Errorf("Backward(nil gradient): got %v, %v; want nil gradient, no error", grads, err)
	}
}

// TestMixedUint8 wires a uint8 constant into a float32 MixedNode: forward,
// gradients for the float input and the node's parameter, none for codes.
func TestMixedUint8(t *testing.T) {
	b := graph.NewBuilder[float32]("mixed", nil)
	x := b.Input("x", []int{4})
	codes := graph.AddNode[float32, uint8](b, "codes",
		&u8const{tensor.Must(tensor.New([]int{4}, []uint8{0, 7, 8, 15}))})
	dq := newDequantMul(0.5)
	y := b.AddMixed("dq", dq, x, codes)
	loss := b.Add("loss", newSum(), y)
	b.Output(loss, codes)
	g := build(t, b)

	xs := []float32{1, 2, 3, 4}
	tape, err := g.Forward(ctx, vec(xs...))
	if err != nil {
		t.Fatal(err)
	}
	// deq = 0.5·(c−8) = -4, -0.5, 0, 3.5; y = x⊙deq = -4, -1, 0, 14.
	if v, _ := tape.Value("dq"); !slices.Equal(v.(f32).Data(), []float32{-4, -1, 0, 14}) {
		t.Errorf("forward dq: got %v, want [-4 -1 0 14]", v)
	}
	outs := tape.Outputs()
	if c, ok := outs[1].(*tensor.Tensor[uint8]); !ok || !slices.Equal(c.Data(), []uint8{0, 7, 8, 15}) {
		t.Errorf("uint8 output: got %v, want codes", outs[1])
	}
	if _, err := tape.Output(1); !errors.Is(err, graph.ErrDType) {
		t.Errorf("Output(1) of a uint8 output: got %v, want ErrDType", err)
	}
	grads, err := g.Backward(ctx, tape, tensor.Scalar[float32](1), nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := []float32{-4, -0.5, 0, 3.5}; !slices.Equal(grads[0].Data(), want) {
		t.Errorf("dx: got %v, want %v", grads[0].Data(), want)
	}
	// dL/ds = Σ x⊙(c−8) = -8 - 2 + 0 + 28 = 18.
	if got := dq.s.Gradient.Data()[0]; got != 18 {
		t.Errorf("dscale: got %v, want 18", got)
	}
	if ps := g.Parameters(); len(ps) != 1 || ps[0] != dq.s {
		t.Errorf("Parameters: got %v, want [scale]", ps)
	}
	if _, err := g.Backward(ctx, tape); !errors.Is(err, graph.ErrInput) {
		t.Errorf("Backward with a uint8 output and no gradients: got %v, want ErrInput", err)
	}
}

// TestInt64Shapes passes an int64 shape tensor between float ops:
// Shape(x) → Reverse → Reshape(x, shape), as ONNX graphs do.
func TestInt64Shapes(t *testing.T) {
	b := graph.NewBuilder[float32]("shapes", nil)
	x := b.Input("x", []int{2, 3})
	s := graph.AddMixedNode[float32, int64](b, "shape", shapeOf{}, x)
	r := graph.AddNode[float32, int64](b, "rev", reverse{}, s)
	y := b.AddMixed("reshape", reshape{}, x, r)
	b.Output(b.Add("loss", newSum(), y), y)
	g := build(t, b)
	tape, err := g.Forward(ctx, mat(2, 3, 1, 1, 1, 1, 1, 1))
	if err != nil {
		t.Fatal(err)
	}
	y2 := tape.Outputs()[1]
	if !slices.Equal(y2.Shape(), []int{3, 2}) {
		t.Errorf("reshape output: got shape %v, want [3 2]", y2.Shape())
	}
	grads, err := g.Backward(ctx, tape, tensor.Scalar[float32](1), nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := []float32{1, 2, 3, 4, 5, 6}; !slices.Equal(grads[0].Data(), want) || !slices.Equal(grads[0].Shape(), []int{2, 3}) {
		t.Errorf("dx: got %v, want %v of shape [2 3]", grads[0], want)
	}
}

// TestConcurrent runs one graph from 8 goroutines at once; every run must
// give the single-run outputs and input gradients, and the parameter
// gradient must be exactly 8 times the single-run one.
func TestConcurrent(t *testing.T) {
	b := graph.NewBuilder[float32]("concurrent", nil)
	x := b.Input("x", []int{-1, 3})
	d1 := newDense("fc1", 3, 4, 0.1, -0.2, 0.3, 0.4, 0.5, -0.6, 0.7, 0.8, -0.9, 1.0, 1.1, -1.2)
	h := b.Add("fc1", d1, x)
	a := b.Add("sq", newMul(), h, h)
	y := b.Add("loss", newSum(), b.Add("mix", newAdd(), a, b.Add("half", newScale(0.5), h)))
	b.Output(y)
	g := build(t, b)

	xv := mat(2, 3, 1, 2, 3, -1, 0.5, 2)
	tape, err := g.Forward(ctx, xv)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := tape.Output(0)
	wantDX, err := g.Backward(ctx, tape)
	if err != nil {
		t.Fatal(err)
	}
	wantDW := d1.w.Gradient.Copy()
	d1.w.ZeroGradient()

	const n = 8
	outs := make([]float32, n)
	dxs := make([][]float32, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			tp, err := g.Forward(ctx, xv)
			if err != nil {
				errs[i] = err
				return
			}
			o, _ := tp.Output(0)
			outs[i] = o.Data()[0]
			gs, err := g.Backward(ctx, tp)
			if err != nil {
				errs[i] = err
				return
			}
			dxs[i] = gs[0].Data()
		}()
	}
	close(start)
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("goroutine %d: %v", i, errs[i])
		}
		if outs[i] != want.Data()[0] {
			t.Errorf("goroutine %d: output got %v, want %v", i, outs[i], want.Data()[0])
		}
		if !slices.Equal(dxs[i], wantDX[0].Data()) {
			t.Errorf("goroutine %d: dx got %v, want %v", i, dxs[i], wantDX[0].Data())
		}
	}
	for i, w := range wantDW.Data() {
		// The 8 contributions are equal, so whatever order the mutex lets
		// them in, the float32 sum is the same as adding w 8 times in a row.
		var want float32
		for range n {
			want += w
		}
		if got := d1.w.Gradient.Data()[i]; got != want {
			t.Errorf("dW[%d]: got %v, want %v (8 × %v)", i, got, want, w)
		}
	}
}

// TestRun checks that Run (no tape, intermediates dropped) matches Forward,
// and that nodes no output needs are dropped.
func TestRun(t *testing.T) {
	b := graph.NewBuilder[float32]("run", nil)
	x := b.Input("x", nil)
	a := b.Add("a", newScale(3), x)
	b.Add("unused", &failing{base: base{"Fail"}, fwd: errors.New("must not run")}, a)
	y := b.Add("y", newAdd(), a, b.Add("b", newScale(-1), a))
	b.Output(y, a)
	g := build(t, b)
	outs, err := g.Run(ctx, vec(1, 2))
	if err != nil {
		t.Fatal(err)
	}
	if got := outs[0].(f32).Data(); !slices.Equal(got, []float32{0, 0}) {
		t.Errorf("Run y: got %v, want [0 0]", got)
	}
	if got := outs[1].(f32).Data(); !slices.Equal(got, []float32{3, 6}) {
		t.Errorf("Run a: got %v, want [3 6]", got)
	}
	if _, ok := g.Node("unused"); ok {
		t.Error(`Node("unused"): got true, want false (no output depends on it)`)
	}
	if n, ok := g.Node("a"); !ok || n.(*scale).k != 3 {
		t.Errorf(`Node("a"): got %v, %v`, n, ok)
	}
	if in := g.Inputs(); len(in) != 1 || in[0].Name != "x" || in[0].Shape != nil {
		t.Errorf("Inputs: got %+v", in)
	}
	if out := g.Outputs(); len(out) != 2 || out[0].Name != "y" || out[1].Name != "a" {
		t.Errorf("Outputs: got %+v", out)
	}
}

// checkErr asserts that err wraps sentinel and mentions every fragment.
func checkErr(t *testing.T, err, sentinel error, fragments ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want %v", sentinel)
	}
	if !errors.Is(err, sentinel) {
		t.Errorf("got %v, want an error wrapping %v", err, sentinel)
	}
	for _, f := range fragments {
		if !strings.Contains(err.Error(), f) {
			t.Errorf("error %q does not mention %q", err, f)
		}
	}
}
