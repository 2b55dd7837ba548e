package safetensors

import (
	"encoding/binary"
	"fmt"
	"math"
	"strconv"

	"github.com/zerfoo/zerfoo/numeric"
)

// Float32 decodes a floating-point tensor (F32, F16, BF16, F64, F8_E4M3,
// F8_E5M2) into a new []float32 (F64 rounded to nearest). The result's
// size is checked against the memory budget of the File's Options. Other
// dtypes are an error.
func (t *Tensor) Float32() ([]float32, error) {
	n := len(t.Data) / max(t.DType.Size(), 1)
	if err := t.limit.CheckElems("safetensors tensor "+strconv.Quote(clip(t.Name))+" as float32", 4, n); err != nil {
		return nil, fmt.Errorf("safetensors: %w", err)
	}
	out := make([]float32, n)
	d := t.Data
	switch t.DType {
	case F32:
		for i := range out {
			out[i] = math.Float32frombits(binary.LittleEndian.Uint32(d[4*i:]))
		}
	case F16:
		for i := range out {
			out[i] = numeric.Float16FromBits(binary.LittleEndian.Uint16(d[2*i:])).Float32()
		}
	case BF16:
		for i := range out {
			out[i] = math.Float32frombits(uint32(binary.LittleEndian.Uint16(d[2*i:])) << 16)
		}
	case F64:
		for i := range out {
			out[i] = float32(math.Float64frombits(binary.LittleEndian.Uint64(d[8*i:])))
		}
	case F8E4M3:
		for i := range out {
			out[i] = numeric.Float8E4M3FNFromBits(d[i]).Float32()
		}
	case F8E5M2:
		for i := range out {
			out[i] = numeric.Float8E5M2FromBits(d[i]).Float32()
		}
	default:
		return nil, fmt.Errorf("safetensors: tensor %s: %v is not a floating-point dtype", strconv.Quote(clip(t.Name)), t.DType)
	}
	return out, nil
}
