// Package qat implements quantization-aware training (QAT) for the weights
// of linear layers: a fake-quantize node that rounds a float32 weight matrix
// to the block-wise grid it will be exported to, and a Linear layer that
// trains through it.
//
// # Forward: exactly what export produces
//
// FakeQuantize computes dequant(quant(W)) with numeric.QuantizeBlockwise's
// arithmetic (ONNX Runtime's MLAS quantizer, the com.microsoft.MatMulNBits
// layout): per output feature n, blocks of BlockSize values along the input
// dimension K, each with its own scale (and, when asymmetric, zero point),
// bits 2, 4 or 8. It calls the numeric quantizer and decodes its blocks, so the
// values a QAT model trains against are bit-identical to the weights of the
// MatMulNBits layer that Export (or `zerfoo quantize`) writes.
//
// # Backward: the straight-through estimator
//
// Rounding has derivative zero almost everywhere, so Backward uses the
// straight-through estimator (STE, Bengio et al. 2013): the gradient with
// respect to the quantized weight is passed to the float weight unchanged.
// The scales are treated as constants (their dependence on the block's
// extreme values is not differentiated). With STEClipped the gradient is
// instead zeroed where the quantizer saturated, that is where x·(1/scale)+zp
// rounds outside [0, 2^bits−1]; because the scales come from each block's
// own range this happens only at the block's extreme values (in symmetric
// mode the most negative code is one step short of the negated maximum), so
// the two modes differ in few elements. STEPassThrough is the default.
//
// # Gradient checks and their caveat
//
// A finite-difference check of FakeQuantize itself cannot pass and should not:
// the true derivative is 0 between rounding thresholds and undefined on them,
// while the STE returns 1. What is checked instead (see the tests) is every
// part that is differentiable: Linear's gradients with respect to its input
// and bias are exact and gradient-checked, and its weight gradient equals the
// finite-difference gradient of the loss with respect to the quantized weight
// (the STE's definition).
//
// # Layout
//
// Linear (like core.Linear) stores W as [in, out] = [K, N], the orientation
// of an ONNX MatMul's B input, so fake quantization of a Linear weight uses
// numeric.QuantizeBlockwiseKN: column n of W is the output feature n whose
// blocks run down the column. FakeQuant nodes take either layout.
package qat
