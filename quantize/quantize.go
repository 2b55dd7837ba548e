// Package quantize converts the float weights of a model file to a
// quantized format: ONNX MatMul weights to com.microsoft.MatMulNBits
// (ONNX Runtime's layout, quantized by numeric.QuantizeBlockwise, byte for
// byte as ONNX Runtime's own MatMulNBitsQuantizer) and GGUF F32/F16/BF16
// tensors to one of llama.cpp's file types (Q4_K_M, Q8_0, …): its
// per-tensor rules, tensor order and metadata with gguf/quant's reference
// quantizers, so that the output is byte for byte what llama-quantize
// writes without an importance matrix.
//
// Every quantized tensor is reported with its error against the float
// values (RMSE, maximum absolute error, relative RMSE) and its size before
// and after; tensors left alone are reported with the reason.
package quantize

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Type is a target format: a llama.cpp file type for GGUF models (its
// llama-quantize name, such as Q4_K_M; see Mix) or an ONNX MatMulNBits
// width.
type Type string

// The ONNX targets: com.microsoft.MatMulNBits with 4- or 8-bit codes. The
// GGUF targets are declared with Mix.
const (
	MNB4 Type = "mnb4"
	MNB8 Type = "mnb8"
)

// Types lists the targets in the order the command documents them.
var Types = []Type{Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q2_K, Q3_K_S, Q3_K_M, Q3_K_L, Q4_K_S, Q4_K_M,
	Q5_K_S, Q5_K_M, Q6_K, IQ4_NL, IQ4_XS, F16, BF16, F32, MNB4, MNB8}

// ErrInput is wrapped by errors about bad options, files or types.
var ErrInput = errors.New("quantize: invalid input")

// ParseType returns the Type named s, ignoring case; Q3_K, Q4_K and Q5_K
// are accepted as llama-quantize's aliases of the _M mixes.
func ParseType(s string) (Type, error) {
	u := strings.ToUpper(s)
	if t, ok := mixAliases[u]; ok {
		return t, nil
	}
	for _, k := range Types {
		if strings.ToUpper(string(k)) == u {
			return k, nil
		}
	}
	return "", fmt.Errorf("%w: unknown type %q (want one of %v)", ErrInput, s, Types)
}

// IsONNX reports whether t is an ONNX MatMulNBits target.
func (t Type) IsONNX() bool { return t == MNB4 || t == MNB8 }

// Options configures a conversion.
type Options struct {
	Type Type
	// BlockSize is the MatMulNBits block length along K (16, 32, 64, 128
	// or 256); 0 means 32. GGUF types have fixed blocks and reject any other
	// value than 0.
	BlockSize int
	// Asymmetric stores a zero point per block (MatMulNBits only).
	Asymmetric bool
	// AccuracyLevel is MatMulNBits's accuracy_level attribute (0 to 4); 0
	// omits the attribute.
	AccuracyLevel int
	// Progress, when not nil, is called before each candidate tensor with
	// the number done so far, the total and the tensor's name, and once at
	// the end with done == total.
	Progress func(done, total int, name string)
}

func (o Options) blockSize() int {
	if o.BlockSize == 0 {
		return 32
	}
	return o.BlockSize
}

// TensorReport is what happened to one weight tensor.
type TensorReport struct {
	Name  string
	Shape []int64 // as stored in the file (ONNX order, or ggml order for GGUF)
	// Quantized is false for a tensor left as it was; Skipped says why.
	Quantized bool
	Skipped   string
	// Type is the format the tensor was written in ("MatMulNBits 4-bit",
	// "Q4_K", or the kept type); Note explains a fallback.
	Type string
	Note string
	// RMSE, MaxAbs and RelRMSE compare the dequantized tensor with the
	// float values (0 when not quantized).
	RMSE, MaxAbs, RelRMSE float64
	// Before and After are the tensor's data bytes (After includes scales
	// and zero points).
	Before, After int64
}

// Report summarizes a conversion.
type Report struct {
	Type    Type
	Tensors []TensorReport
	// FileBefore and FileAfter are the sizes of the input and output files
	// (set by File; 0 from the in-memory functions).
	FileBefore, FileAfter int64
}

// Totals returns the summed tensor bytes before and after over the
// quantized tensors.
func (r *Report) Totals() (before, after int64, n int) {
	for _, t := range r.Tensors {
		if t.Quantized {
			before += t.Before
			after += t.After
			n++
		}
	}
	return before, after, n
}

// File converts the model at in and writes it to out: .onnx models need an
// MNB type, .gguf models a GGUF type (a Mix). out must not exist unless force is
// set. It returns an error wrapping ErrInput for a mismatched type and
// extension, an existing output, or a type the model cannot take.
func File(ctx context.Context, in, out string, force bool, opts Options) (*Report, error) {
	t, err := ParseType(string(opts.Type))
	if err != nil {
		return nil, err
	}
	opts.Type = t
	if in == "" || out == "" {
		return nil, fmt.Errorf("%w: need both an input and an output path", ErrInput)
	}
	if ai, err := filepath.Abs(in); err == nil {
		if ao, err := filepath.Abs(out); err == nil && ai == ao {
			return nil, fmt.Errorf("%w: output %s is the input", ErrInput, out)
		}
	}
	if !force {
		if _, err := os.Stat(out); err == nil {
			return nil, fmt.Errorf("%w: output %s exists (use --force to overwrite)", ErrInput, out)
		}
	}
	ext := strings.ToLower(filepath.Ext(in))
	switch {
	case ext == ".onnx" && opts.Type.IsONNX(), ext == ".gguf" && !opts.Type.IsONNX():
	case ext == ".onnx":
		return nil, fmt.Errorf("%w: type %s is a GGUF type; ONNX models take mnb4 or mnb8", ErrInput, opts.Type)
	case ext == ".gguf":
		return nil, fmt.Errorf("%w: type %s is an ONNX type; GGUF models take a llama.cpp file type such as Q4_K_M", ErrInput, opts.Type)
	default:
		return nil, fmt.Errorf("%w: %s: unknown model format %q (want .onnx or .gguf)", ErrInput, in, ext)
	}
	st, err := os.Stat(in)
	if err != nil {
		return nil, fmt.Errorf("quantize: %w", err)
	}
	var r *Report
	if ext == ".onnx" {
		r, err = onnxFile(ctx, in, out, opts)
	} else {
		r, err = ggufFile(ctx, in, out, opts)
	}
	if err != nil {
		return nil, err
	}
	r.FileBefore = st.Size()
	if st, err := os.Stat(out); err == nil {
		r.FileAfter = st.Size()
	}
	return r, nil
}
