// Package numeric defines the element types a tensor can hold, their
// arithmetic, and the quantization formats built on them.
//
// # Element types
//
// Number is the constraint for tensor elements: float32, float64, the
// reduced-precision floats Float16 (IEEE binary16), BFloat16, Float8E4M3FN
// and Float8E5M2 (OCP 8-bit floats), and the integers int8, uint8, int16,
// uint16, int32, uint32, int64 and uint64. The reduced floats are structs over their bit pattern so
// that generic code cannot use integer operators on them by accident;
// conversions from float32 and float64 round to nearest even (E4M3FN, which
// has no infinities, saturates as ONNX Cast does). DType names an element
// type at run time, for file formats and dtype-erased graph edges.
//
// # Arithmetic
//
// Arithmetic[T] is the element arithmetic generic kernels use: Float32Ops{},
// Float64Ops{}, Float16Ops{}, BFloat16Ops{}, Float8Ops{} (E4M3FN),
// Float8E5M2Ops{}, Int8Ops{}, Uint8Ops{}, Int16Ops{}, Int32Ops{} and
// Int64Ops{} (uint16, uint32 and uint64 have none: they are storage types
// for file formats and the ONNX executor). Reduced floats compute in float64 and round once. Integer
// operations saturate to the type's range; integer division truncates and
// x/0 is the type's maximum for x > 0, minimum for x < 0, and 0 for 0/0.
//
// # Quantization
//
// QuantizationConfig maps float32 to 2-, 4- or 8-bit codes with ONNX
// QuantizeLinear semantics (round half to even, saturation). PackBits,
// Pack4BitSlice and friends pack codes low bits first. BlockQuantized holds a
// weight matrix quantized block-wise along K in exactly the layout of ONNX
// Runtime's com.microsoft.MatMulNBits, and QuantizeBlockwise produces it
// byte-for-byte as ONNX Runtime's MLAS quantizer does.
package numeric
