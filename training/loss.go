package training

import (
	"context"
	"fmt"
	"math"

	"github.com/zerfoo/zerfoo/graph"
	"github.com/zerfoo/zerfoo/numeric"
	"github.com/zerfoo/zerfoo/tensor"
)

// MSE returns the mean squared error mean((pred − target)²) and its
// gradient with respect to pred, 2(pred − target)/n. The loss is summed in
// float64. pred and target must have the same shape (error wrapping
// tensor.ErrShape otherwise).
func MSE[T tensor.Numeric](ops numeric.Arithmetic[T], pred, target *tensor.Tensor[T]) (float64, *tensor.Tensor[T], error) {
	if err := mseCheck(pred, target); err != nil {
		return 0, nil, err
	}
	n := pred.Size()
	grad := tensor.Must(tensor.New[T](pred.Shape(), nil))
	if n == 0 {
		return 0, grad, nil
	}
	var sum float64
	p, y, g := pred.Data(), target.Data(), grad.Data()
	for i := range p {
		d := ops.ToFloat64(p[i]) - ops.ToFloat64(y[i])
		sum += d * d
		g[i] = ops.FromFloat64(2 * d / float64(n))
	}
	return sum / float64(n), grad, nil
}

func mseCheck[T tensor.Numeric](pred, target *tensor.Tensor[T]) error {
	if pred == nil || target == nil {
		return fmt.Errorf("training: MSE: %w: nil prediction or target", graph.ErrInput)
	}
	if !tensor.SameShape(pred.Shape(), target.Shape()) {
		return fmt.Errorf("training: MSE: %w: prediction %v, target %v", tensor.ErrShape, pred.Shape(), target.Shape())
	}
	return nil
}

// SoftmaxCrossEntropy returns the mean over rows of −log softmax(logits)[c]
// for logits of shape [..., C] and integer class targets of shape [...]
// (one class in [0, C) per row), and its gradient with respect to the
// logits, (softmax(logits) − onehot(c))/rows. It is computed in float64
// with the log-sum-exp shifted by the row maximum, so large logits do not
// overflow. Bad shapes wrap tensor.ErrShape and classes out of range
// tensor.ErrIndex.
func SoftmaxCrossEntropy[T tensor.Numeric](ops numeric.Arithmetic[T], logits *tensor.Tensor[T], targets *tensor.Tensor[int64]) (float64, *tensor.Tensor[T], error) {
	rows, classes, err := ceCheck(logits, targets)
	if err != nil {
		return 0, nil, err
	}
	grad := tensor.Must(tensor.New[T](logits.Shape(), nil))
	if rows == 0 {
		return 0, grad, nil
	}
	x, g := logits.Data(), grad.Data()
	row := make([]float64, classes)
	var total float64
	for r := range rows {
		off := r * classes
		m := math.Inf(-1)
		for j := range classes {
			row[j] = ops.ToFloat64(x[off+j])
			m = math.Max(m, row[j])
		}
		var s float64
		for j := range classes {
			row[j] = math.Exp(row[j] - m)
			s += row[j]
		}
		c := int(targets.Data()[r])
		// −log p_c = log Σ exp(x − m) − (x_c − m).
		total += math.Log(s) - (ops.ToFloat64(x[off+c]) - m)
		for j := range classes {
			p := row[j] / s
			if j == c {
				p--
			}
			g[off+j] = ops.FromFloat64(p / float64(rows))
		}
	}
	return total / float64(rows), grad, nil
}

func ceCheck[T tensor.Numeric](logits *tensor.Tensor[T], targets *tensor.Tensor[int64]) (rows, classes int, err error) {
	if logits == nil || targets == nil {
		return 0, 0, fmt.Errorf("training: SoftmaxCrossEntropy: %w: nil logits or targets", graph.ErrInput)
	}
	ls, ts := logits.Shape(), targets.Shape()
	if len(ls) == 0 || !tensor.SameShape(ls[:len(ls)-1], ts) {
		return 0, 0, fmt.Errorf("training: SoftmaxCrossEntropy: %w: logits %v need targets of shape %v, got %v",
			tensor.ErrShape, ls, ls[:max(len(ls)-1, 0)], ts)
	}
	classes = ls[len(ls)-1]
	rows = targets.Size()
	if classes == 0 && rows > 0 {
		return 0, 0, fmt.Errorf("training: SoftmaxCrossEntropy: %w: logits %v have no classes", tensor.ErrShape, ls)
	}
	for i, c := range targets.Data() {
		if c < 0 || c >= int64(classes) {
			return 0, 0, fmt.Errorf("training: SoftmaxCrossEntropy: %w: target %d is class %d, want [0, %d)", tensor.ErrIndex, i, c, classes)
		}
	}
	return rows, classes, nil
}

// MSELoss is a graph node computing MSE: inputs (prediction, target) of one
// shape, output a scalar. Its Backward returns the gradient for both inputs
// (the target's is the negation of the prediction's).
type MSELoss[T tensor.Numeric] struct {
	ops numeric.Arithmetic[T]
}

// NewMSELoss returns an MSE loss node.
func NewMSELoss[T tensor.Numeric](ops numeric.Arithmetic[T]) *MSELoss[T] {
	return &MSELoss[T]{ops: ops}
}

var (
	_ graph.Node[float32]      = (*MSELoss[float32])(nil)
	_ graph.ShapeInferer       = (*MSELoss[float32])(nil)
	_ graph.MixedNode[float32] = (*CrossEntropyLoss[float32])(nil)
	_ graph.ShapeInferer       = (*CrossEntropyLoss[float32])(nil)
	_ graph.InputTyper         = (*CrossEntropyLoss[float32])(nil)
)

// OpType returns "MSELoss".
func (l *MSELoss[T]) OpType() string { return "MSELoss" }

// Attributes returns the reduction, "mean".
func (l *MSELoss[T]) Attributes() map[string]any { return map[string]any{"reduction": "mean"} }

// OutputShape returns [] (a scalar).
func (l *MSELoss[T]) OutputShape() []int { return []int{} }

// Parameters returns nil.
func (l *MSELoss[T]) Parameters() []*graph.Parameter[T] { return nil }

// InferShape checks that prediction and target shapes agree and returns [].
func (l *MSELoss[T]) InferShape(in ...[]int) ([]int, error) {
	if len(in) != 2 {
		return nil, fmt.Errorf("training: MSELoss: %w: got %d inputs, want 2", graph.ErrArity, len(in))
	}
	if !compatible(in[0], in[1]) {
		return nil, fmt.Errorf("training: MSELoss: %w: prediction %v, target %v", tensor.ErrShape, in[0], in[1])
	}
	return []int{}, nil
}

// Forward returns the mean squared error as a scalar tensor.
func (l *MSELoss[T]) Forward(_ context.Context, inputs ...*tensor.Tensor[T]) (*tensor.Tensor[T], error) {
	if len(inputs) != 2 {
		return nil, fmt.Errorf("training: MSELoss: %w: got %d inputs, want 2", graph.ErrArity, len(inputs))
	}
	v, _, err := MSE(l.ops, inputs[0], inputs[1])
	if err != nil {
		return nil, err
	}
	return tensor.Scalar(l.ops.FromFloat64(v)), nil
}

// Backward returns g·2(pred − target)/n for the prediction and its negation
// for the target.
func (l *MSELoss[T]) Backward(_ context.Context, outputGradient *tensor.Tensor[T], inputs ...*tensor.Tensor[T]) ([]*tensor.Tensor[T], error) {
	if len(inputs) != 2 {
		return nil, fmt.Errorf("training: MSELoss: %w: got %d inputs, want 2", graph.ErrArity, len(inputs))
	}
	if outputGradient == nil || outputGradient.Size() != 1 {
		return nil, fmt.Errorf("training: MSELoss: %w: output gradient must be a scalar", tensor.ErrShape)
	}
	_, gp, err := MSE(l.ops, inputs[0], inputs[1])
	if err != nil {
		return nil, err
	}
	s := l.ops.ToFloat64(outputGradient.Data()[0])
	gt := tensor.Must(tensor.New[T](gp.Shape(), nil))
	for i, v := range gp.Data() {
		f := l.ops.ToFloat64(v) * s
		gp.Data()[i] = l.ops.FromFloat64(f)
		gt.Data()[i] = l.ops.FromFloat64(-f)
	}
	return []*tensor.Tensor[T]{gp, gt}, nil
}

// CrossEntropyLoss is a graph.MixedNode computing SoftmaxCrossEntropy:
// inputs (logits of type T [..., C], targets int64 [...]), output a scalar.
// The targets get no gradient.
type CrossEntropyLoss[T tensor.Numeric] struct {
	ops numeric.Arithmetic[T]
}

// NewCrossEntropyLoss returns a softmax cross-entropy loss node.
func NewCrossEntropyLoss[T tensor.Numeric](ops numeric.Arithmetic[T]) *CrossEntropyLoss[T] {
	return &CrossEntropyLoss[T]{ops: ops}
}

// OpType returns "SoftmaxCrossEntropyLoss" (the ONNX operator name).
func (l *CrossEntropyLoss[T]) OpType() string { return "SoftmaxCrossEntropyLoss" }

// Attributes returns the reduction, "mean".
func (l *CrossEntropyLoss[T]) Attributes() map[string]any { return map[string]any{"reduction": "mean"} }

// OutputShape returns [] (a scalar).
func (l *CrossEntropyLoss[T]) OutputShape() []int { return []int{} }

// Parameters returns nil.
func (l *CrossEntropyLoss[T]) Parameters() []*graph.Parameter[T] { return nil }

// InputDTypes returns (T, int64).
func (l *CrossEntropyLoss[T]) InputDTypes() []numeric.DType {
	return []numeric.DType{numeric.DTypeOf[T](), numeric.Int64}
}

// InferShape checks that the targets have the logits' shape without its
// last axis and returns [].
func (l *CrossEntropyLoss[T]) InferShape(in ...[]int) ([]int, error) {
	if len(in) != 2 {
		return nil, fmt.Errorf("training: SoftmaxCrossEntropyLoss: %w: got %d inputs, want 2", graph.ErrArity, len(in))
	}
	if in[0] != nil && (len(in[0]) == 0 || !compatible(in[0][:len(in[0])-1], in[1])) {
		return nil, fmt.Errorf("training: SoftmaxCrossEntropyLoss: %w: logits %v, targets %v", tensor.ErrShape, in[0], in[1])
	}
	return []int{}, nil
}

func (l *CrossEntropyLoss[T]) args(inputs []tensor.Any) (*tensor.Tensor[T], *tensor.Tensor[int64], error) {
	if len(inputs) != 2 {
		return nil, nil, fmt.Errorf("training: SoftmaxCrossEntropyLoss: %w: got %d inputs, want 2", graph.ErrArity, len(inputs))
	}
	x, ok1 := inputs[0].(*tensor.Tensor[T])
	c, ok2 := inputs[1].(*tensor.Tensor[int64])
	if !ok1 || !ok2 {
		return nil, nil, fmt.Errorf("training: SoftmaxCrossEntropyLoss: %w: inputs must be (%s logits, int64 targets)", graph.ErrDType, numeric.DTypeOf[T]())
	}
	return x, c, nil
}

// ForwardAny returns the mean cross-entropy as a scalar tensor.
func (l *CrossEntropyLoss[T]) ForwardAny(_ context.Context, inputs ...tensor.Any) (*tensor.Tensor[T], error) {
	x, c, err := l.args(inputs)
	if err != nil {
		return nil, err
	}
	v, _, err := SoftmaxCrossEntropy(l.ops, x, c)
	if err != nil {
		return nil, err
	}
	return tensor.Scalar(l.ops.FromFloat64(v)), nil
}

// BackwardAny returns g·(softmax − onehot)/rows for the logits and nil for
// the targets.
func (l *CrossEntropyLoss[T]) BackwardAny(_ context.Context, outputGradient *tensor.Tensor[T], inputs ...tensor.Any) ([]*tensor.Tensor[T], error) {
	x, c, err := l.args(inputs)
	if err != nil {
		return nil, err
	}
	if outputGradient == nil || outputGradient.Size() != 1 {
		return nil, fmt.Errorf("training: SoftmaxCrossEntropyLoss: %w: output gradient must be a scalar", tensor.ErrShape)
	}
	_, g, err := SoftmaxCrossEntropy(l.ops, x, c)
	if err != nil {
		return nil, err
	}
	s := l.ops.ToFloat64(outputGradient.Data()[0])
	if s != 1 {
		for i, v := range g.Data() {
			g.Data()[i] = l.ops.FromFloat64(l.ops.ToFloat64(v) * s)
		}
	}
	return []*tensor.Tensor[T]{g, nil}, nil
}

// compatible reports whether two static shapes can be equal (-1 matches
// anything; a nil shape is unknown).
func compatible(a, b []int) bool {
	if a == nil || b == nil {
		return true
	}
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] >= 0 && b[i] >= 0 && a[i] != b[i] {
			return false
		}
	}
	return true
}
