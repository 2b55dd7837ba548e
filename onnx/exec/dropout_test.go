package exec

import (
	"errors"
	"strings"
	"testing"

	"github.com/zerfoo/zerfoo/onnx"
	"github.com/zerfoo/zerfoo/tensor"
)

// TestMT19937 checks the generator against NumPy: np.random.seed(s);
// np.random.random_sample(2).
func TestMT19937(t *testing.T) {
	tests := []struct {
		seed uint32
		want [2]float64
	}{
		{0, [2]float64{0.5488135039273248, 0.7151893663724195}},
		{42, [2]float64{0.3745401188473625, 0.9507143064099162}},
	}
	for _, tt := range tests {
		m := newMT19937(tt.seed)
		if got := [2]float64{m.float64(), m.float64()}; got != tt.want {
			t.Errorf("seed %d: got %v, want %v", tt.seed, got, tt.want)
		}
	}
}

func TestDropoutErrors(t *testing.T) {
	x := tensor.Must(tensor.New([]int{2}, []float32{1, 2}))
	_, err := runNode(t, "Dropout", onnx.Float32, []onnx.Attr{{Name: "seed", Value: int64(-3)}}, x)
	if !errors.Is(err, ErrAttribute) || !strings.Contains(err.Error(), "node n (Dropout)") {
		t.Errorf("seed -3: got %v, want ErrAttribute naming the node", err)
	}
	r := tensor.Must(tensor.New([]int{}, []float32{1}))
	tr := tensor.Must(tensor.New([]int{}, []uint8{1}))
	if _, err := runNode(t, "Dropout", onnx.Float32, nil, x, r, tr); !errors.Is(err, ErrInput) {
		t.Errorf("training ratio 1: got %v, want ErrInput", err)
	}
	// ratio 1 is fine in inference mode: the identity.
	if y, err := runNode(t, "Dropout", onnx.Float32, nil, x, r); err != nil || y != x {
		t.Errorf("inference ratio 1: got %v, %v, want x", y, err)
	}
}
