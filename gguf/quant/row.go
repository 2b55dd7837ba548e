package quant

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/zerfoo/zerfoo/numeric"
)

// checkRow validates that t can be decoded (and encoded, if encode is set)
// and that n elements of t fill exactly nb bytes.
func checkRow(op string, t Type, n, nb int, encode bool) error {
	tr, ok := typeTraits[t]
	if !ok || !tr.supported {
		return fmt.Errorf("quant: %s: %v: %w", op, t, ErrType)
	}
	if encode && !tr.quantize {
		return fmt.Errorf("quant: %s: %v can be decoded but not encoded: %w", op, t, ErrType)
	}
	want, err := t.RowBytes(n)
	if err != nil {
		return fmt.Errorf("quant: %s: %w", op, err)
	}
	if nb != want {
		return fmt.Errorf("quant: %s: %v: %d elements need %d bytes, got %d: %w", op, t, n, want, nb, ErrSize)
	}
	return nil
}

// Dequantize decodes len(dst) elements of type t from src, which must hold
// exactly their encoding (t.RowBytes(len(dst)) bytes). The result is
// bit-identical to ggml's dequantize_row functions for any bytes. It fails
// with ErrType if t cannot be decoded (t.Supported() is false), ErrSize if
// the sizes do not fit.
func Dequantize(t Type, dst []float32, src []byte) error {
	if err := checkRow("dequantize", t, len(dst), len(src), false); err != nil {
		return err
	}
	switch t {
	case F32:
		for i := range dst {
			dst[i] = math.Float32frombits(binary.LittleEndian.Uint32(src[4*i:]))
		}
	case F16:
		for i := range dst {
			dst[i] = numeric.Float16FromBits(binary.LittleEndian.Uint16(src[2*i:])).Float32()
		}
	case BF16:
		for i := range dst {
			dst[i] = math.Float32frombits(uint32(binary.LittleEndian.Uint16(src[2*i:])) << 16)
		}
	case Q4_0:
		dequantizeBlocks[BlockQ4_0](dst, src, t)
	case Q4_1:
		dequantizeBlocks[BlockQ4_1](dst, src, t)
	case Q5_0:
		dequantizeBlocks[BlockQ5_0](dst, src, t)
	case Q5_1:
		dequantizeBlocks[BlockQ5_1](dst, src, t)
	case Q8_0:
		dequantizeBlocks[BlockQ8_0](dst, src, t)
	case Q4_K:
		dequantizeBlocks[BlockQ4_K](dst, src, t)
	case Q5_K:
		dequantizeBlocks[BlockQ5_K](dst, src, t)
	case Q6_K:
		dequantizeBlocks[BlockQ6_K](dst, src, t)
	case Q8_K:
		dequantizeBlocks[BlockQ8_K](dst, src, t)
	case Q2_K:
		dequantizeBlocks[BlockQ2_K](dst, src, t)
	case Q3_K:
		dequantizeBlocks[BlockQ3_K](dst, src, t)
	case IQ4_NL:
		dequantizeBlocks[BlockIQ4_NL](dst, src, t)
	case IQ4_XS:
		dequantizeBlocks[BlockIQ4_XS](dst, src, t)
	case TQ1_0:
		dequantizeBlocks[BlockTQ1_0](dst, src, t)
	case TQ2_0:
		dequantizeBlocks[BlockTQ2_0](dst, src, t)
	case IQ2_XXS:
		dequantizeBlocks[BlockIQ2_XXS](dst, src, t)
	case IQ2_XS:
		dequantizeBlocks[BlockIQ2_XS](dst, src, t)
	case IQ2_S:
		dequantizeBlocks[BlockIQ2_S](dst, src, t)
	case IQ3_XXS:
		dequantizeBlocks[BlockIQ3_XXS](dst, src, t)
	case IQ3_S:
		dequantizeBlocks[BlockIQ3_S](dst, src, t)
	case IQ1_S:
		dequantizeBlocks[BlockIQ1_S](dst, src, t)
	case IQ1_M:
		dequantizeBlocks[BlockIQ1_M](dst, src, t)
	case MXFP4:
		dequantizeBlocks[BlockMXFP4](dst, src, t)
	case NVFP4:
		dequantizeBlocks[BlockNVFP4](dst, src, t)
	case Q1_0:
		dequantizeBlocks[BlockQ1_0](dst, src, t)
	case Q2_0:
		dequantizeBlocks[BlockQ2_0](dst, src, t)
	}
	return nil
}

// Quantize encodes src as type t into dst, which must have exactly
// t.RowBytes(len(src)) bytes, with ggml's reference quantizers (F16 and BF16
// round to nearest even): the bytes llama-quantize writes without an
// importance matrix. It fails with ErrType if t cannot be encoded
// (t.CanQuantize() is false), ErrSize if the sizes do not fit.
func Quantize(t Type, dst []byte, src []float32) error {
	if err := checkRow("quantize", t, len(src), len(dst), true); err != nil {
		return err
	}
	switch t {
	case F32:
		for i, v := range src {
			binary.LittleEndian.PutUint32(dst[4*i:], math.Float32bits(v))
		}
	case F16:
		for i, v := range src {
			binary.LittleEndian.PutUint16(dst[2*i:], numeric.Float16FromFloat32(v).Bits())
		}
	case BF16:
		for i, v := range src {
			binary.LittleEndian.PutUint16(dst[2*i:], numeric.BFloat16FromFloat32(v).Bits())
		}
	case Q4_0:
		quantizeBlocks[BlockQ4_0](dst, src, t)
	case Q4_1:
		quantizeBlocks[BlockQ4_1](dst, src, t)
	case Q5_0:
		quantizeBlocks[BlockQ5_0](dst, src, t)
	case Q5_1:
		quantizeBlocks[BlockQ5_1](dst, src, t)
	case Q8_0:
		quantizeBlocks[BlockQ8_0](dst, src, t)
	case Q4_K:
		quantizeBlocks[BlockQ4_K](dst, src, t)
	case Q5_K:
		quantizeBlocks[BlockQ5_K](dst, src, t)
	case Q6_K:
		quantizeBlocks[BlockQ6_K](dst, src, t)
	case Q8_K:
		quantizeBlocks[BlockQ8_K](dst, src, t)
	case Q2_K:
		quantizeBlocks[BlockQ2_K](dst, src, t)
	case Q3_K:
		quantizeBlocks[BlockQ3_K](dst, src, t)
	case IQ4_NL:
		quantizeBlocks[BlockIQ4_NL](dst, src, t)
	case IQ4_XS:
		quantizeBlocks[BlockIQ4_XS](dst, src, t)
	case TQ1_0:
		quantizeBlocks[BlockTQ1_0](dst, src, t)
	case TQ2_0:
		quantizeBlocks[BlockTQ2_0](dst, src, t)
	case MXFP4:
		quantizeBlocks[BlockMXFP4](dst, src, t)
	case NVFP4:
		quantizeBlocks[BlockNVFP4](dst, src, t)
	case Q1_0:
		quantizeBlocks[BlockQ1_0](dst, src, t)
	case Q2_0:
		quantizeBlocks[BlockQ2_0](dst, src, t)
	}
	return nil
}

func dequantizeBlocks[B any, P interface {
	*B
	Decoder
}](dst []float32, src []byte, t Type) {
	n, nb := t.BlockSize(), t.BlockBytes()
	var b B
	p := P(&b)
	for i := 0; i*n < len(dst); i++ {
		p.Load(src[i*nb : (i+1)*nb])
		p.Dequantize(dst[i*n : (i+1)*n])
	}
}

func quantizeBlocks[B any, P interface {
	*B
	Block
}](dst []byte, src []float32, t Type) {
	n, nb := t.BlockSize(), t.BlockBytes()
	var b B
	p := P(&b)
	for i := 0; i*n < len(src); i++ {
		p.Quantize(src[i*n : (i+1)*n])
		p.Store(dst[i*nb : (i+1)*nb])
	}
}

// DotRows is the scalar reference of a matrix-vector product with a matrix
// W of type t: W has len(dst) rows of K = len(x) elements stored back to back
// in w (each row t.RowBytes(K) bytes, GGUF's layout with ne[0] = K), and
// DotRows sets dst[r] = Σ_k W[r][k]·x[k]. Each row is dequantized exactly
// and accumulated in float64, then rounded once to float32.
//
// Fused kernels that never dequantize whole rows replace this on the hot
// path; they agree with it up to their own (documented) rounding.
func DotRows(t Type, dst, x []float32, w []byte) error {
	rb, err := t.RowBytes(len(x))
	if err != nil {
		return fmt.Errorf("quant: dot rows: %w", err)
	}
	if err := checkRow("dot rows", t, len(x)*len(dst), len(w), false); err != nil {
		return err
	}
	row := make([]float32, len(x))
	for r := range dst {
		if err := Dequantize(t, row, w[r*rb:(r+1)*rb]); err != nil {
			return err
		}
		var s float64
		for k, v := range row {
			s += float64(v) * float64(x[k])
		}
		dst[r] = float32(s)
	}
	return nil
}
