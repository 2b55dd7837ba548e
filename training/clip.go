package training

import (
	"fmt"
	"math"

	"github.com/zerfoo/zerfoo/graph"
	"github.com/zerfoo/zerfoo/numeric"
	"github.com/zerfoo/zerfoo/tensor"
)

// GradNorm returns the global L2 norm of the gradients of params,
// √(Σ over all parameters and elements of g²), accumulated in float64.
// Parameters without a gradient contribute nothing. ops converts elements
// of T to float64 and may be nil for float32 and float64.
func GradNorm[T tensor.Numeric](params []*graph.Parameter[T], ops numeric.Arithmetic[T]) (float64, error) {
	var sum float64
	for i, p := range params {
		if p == nil {
			return 0, fmt.Errorf("training: GradNorm: %w: parameter %d is nil", graph.ErrInput, i)
		}
		err := p.Update(func(_, grad *tensor.Tensor[T]) error {
			if grad == nil {
				return nil
			}
			s, err := sumSquares(grad.Data(), ops)
			sum += s
			return err
		})
		if err != nil {
			return 0, fmt.Errorf("training: GradNorm: parameter %q: %w", p.Name, err)
		}
	}
	return math.Sqrt(sum), nil
}

// ClipGradNorm rescales the gradients of params so that their global L2
// norm is at most maxNorm, as torch.nn.utils.clip_grad_norm_ does: with
// total = GradNorm(params), every gradient is multiplied by
// maxNorm / (total + 1e-6) when that factor is below 1, and left alone
// otherwise. It returns total, the norm before clipping. A non-finite total
// (a NaN or infinite gradient) is returned with the gradients unchanged and
// an error wrapping graph.ErrInput, so a diverging step can be skipped.
// maxNorm must be positive. ops converts elements of T to and from float64
// and may be nil for float32 and float64.
func ClipGradNorm[T tensor.Numeric](params []*graph.Parameter[T], ops numeric.Arithmetic[T], maxNorm float64) (float64, error) {
	if !(maxNorm > 0) {
		return 0, fmt.Errorf("training: ClipGradNorm: %w: max norm %v", graph.ErrInput, maxNorm)
	}
	total, err := GradNorm(params, ops)
	if err != nil {
		return 0, err
	}
	if math.IsNaN(total) || math.IsInf(total, 0) {
		return total, fmt.Errorf("training: ClipGradNorm: %w: gradient norm is %v", graph.ErrInput, total)
	}
	coef := maxNorm / (total + 1e-6)
	if coef >= 1 {
		return total, nil
	}
	for _, p := range params {
		err := p.Update(func(_, grad *tensor.Tensor[T]) error {
			if grad == nil {
				return nil
			}
			return scale(grad.Data(), coef, ops)
		})
		if err != nil {
			return total, fmt.Errorf("training: ClipGradNorm: parameter %q: %w", p.Name, err)
		}
	}
	return total, nil
}

func sumSquares[T tensor.Numeric](g []T, ops numeric.Arithmetic[T]) (float64, error) {
	var s float64
	switch d := any(g).(type) {
	case []float32:
		for _, v := range d {
			s += float64(v) * float64(v)
		}
	case []float64:
		for _, v := range d {
			s += v * v
		}
	default:
		if ops == nil {
			return 0, fmt.Errorf("%w: %s gradients need a numeric.Arithmetic, got nil", graph.ErrInput, numeric.DTypeOf[T]())
		}
		for _, v := range g {
			f := ops.ToFloat64(v)
			s += f * f
		}
	}
	return s, nil
}

func scale[T tensor.Numeric](g []T, c float64, ops numeric.Arithmetic[T]) error {
	switch d := any(g).(type) {
	case []float32:
		for i, v := range d {
			d[i] = float32(float64(v) * c)
		}
	case []float64:
		for i := range d {
			d[i] *= c
		}
	default:
		if ops == nil {
			return fmt.Errorf("%w: %s gradients need a numeric.Arithmetic, got nil", graph.ErrInput, numeric.DTypeOf[T]())
		}
		for i, v := range g {
			g[i] = ops.FromFloat64(ops.ToFloat64(v) * c)
		}
	}
	return nil
}
