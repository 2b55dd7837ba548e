package gradcheck_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/zerfoo/zerfoo/compute"
	"github.com/zerfoo/zerfoo/graph/gradcheck"
	"github.com/zerfoo/zerfoo/layers/ops"
	"github.com/zerfoo/zerfoo/numeric"
	"github.com/zerfoo/zerfoo/tensor"
)

// Check a node's Backward against finite differences. Tanh's gradient is
// right, so Check returns nil.
func ExampleCheck() {
	ctx := context.Background()
	eng := compute.NewCPUEngine[float64](numeric.Float64Ops{})
	x := tensor.Must(tensor.New([]int{2, 3}, []float64{-1.5, -0.5, 0, 0.25, 1, 2}))
	err := gradcheck.Check(ctx, ops.NewTanh(eng), []*tensor.Tensor[float64]{x}, gradcheck.Options{})
	fmt.Println(err)
	// Output:
	// <nil>
}

// A wrong gradient is reported element by element: here the backward pass of
// f(x) = x² forgets the factor 2.
func ExampleCheckFunc() {
	ctx := context.Background()
	square := gradcheck.Func[float64]{
		Forward: func(_ context.Context, in ...*tensor.Tensor[float64]) (*tensor.Tensor[float64], error) {
			out := in[0].Copy()
			for i, v := range out.Data() {
				out.Data()[i] = v * v
			}
			return out, nil
		},
		Backward: func(_ context.Context, g *tensor.Tensor[float64], in ...*tensor.Tensor[float64]) ([]*tensor.Tensor[float64], error) {
			dx := g.Copy()
			for i, x := range in[0].Data() {
				dx.Data()[i] *= x // should be 2x
			}
			return []*tensor.Tensor[float64]{dx}, nil
		},
	}
	x := tensor.Must(tensor.New([]int{3}, []float64{1, 2, 3}))
	err := gradcheck.CheckFunc(ctx, square, []*tensor.Tensor[float64]{x}, nil, gradcheck.Options{})
	var m *gradcheck.MismatchError
	if errors.As(err, &m) {
		fmt.Printf("%s: %d of %d elements wrong\n", m.Op, m.Failed, m.Checked)
		for _, w := range m.Worst {
			fmt.Printf("%s[%d]: analytic/numeric = %.3f\n", w.Where, w.Index, w.Analytic/w.Numeric)
		}
	}
	fmt.Println(errors.Is(err, gradcheck.ErrMismatch))
	// Output:
	// func: 3 of 3 elements wrong
	// input 0[1]: analytic/numeric = 0.500
	// input 0[2]: analytic/numeric = 0.500
	// input 0[0]: analytic/numeric = 0.500
	// true
}
