package graph

import (
	"sync"

	"github.com/zerfoo/zerfoo/tensor"
)

// Parameter is a trainable tensor: a name, its value and the gradient
// accumulated by Backward. Gradient accumulation is safe for concurrent
// Backward calls; optimizers update Value between steps.
type Parameter[T tensor.Numeric] struct {
	Name     string
	Value    *tensor.Tensor[T]
	Gradient *tensor.Tensor[T]

	mu sync.Mutex
}
