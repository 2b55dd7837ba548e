//go:build !amd64 || purego

package qgemm

type rowQuantizer struct {
	name string
	fn   func(row []float32, bs int, dst []int8, sa []float32, suma []int32, stride int)
}

// quantizeRowImpls lists the row quantizers this build has.
func quantizeRowImpls() []rowQuantizer { return []rowQuantizer{{"dispatched", quantizeRowFn}} }

// plane1Kernels: no kernels for the plane1 forms here.
const plane1Kernels = false

// ggmlGroupsLack reports whether this build's group kernels leave f out:
// it has none.
func ggmlGroupsLack(ggmlVariant, *format) bool { return true }
