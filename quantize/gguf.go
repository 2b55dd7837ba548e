package quantize

import (
	"context"
	"fmt"
	"math"
	"strings"

	"github.com/zerfoo/zerfoo/gguf"
	"github.com/zerfoo/zerfoo/gguf/quant"
)

// ggufTarget maps a GGUF Type to its ggml type and llama.cpp's
// general.file_type (LLAMA_FTYPE_MOSTLY_Q4_0 = 2, _Q8_0 = 7, _Q4_K_S = 14).
func ggufTarget(t Type) (quant.Type, uint32, error) {
	switch t {
	case Q4_0:
		return quant.Q4_0, 2, nil
	case Q8_0:
		return quant.Q8_0, 7, nil
	case Q4_K:
		return quant.Q4_K, 14, nil
	}
	return 0, 0, fmt.Errorf("%w: type %q is not a GGUF type (q4_0, q4_k, q8_0)", ErrInput, t)
}

// GGUF writes to b a copy of f with its weight matrices quantized to
// opts.Type: every F32, F16 or BF16 tensor of rank ≥ 2 whose name ends in
// "weight" and whose row length ne[0] is a multiple of the type's block
// (32, or 256 for Q4_K). Fallback, per tensor: Q4_K rows whose length is a
// multiple of 32 but not of 256 become Q8_0; other rows that fit no block
// keep their type and are reported as skipped, like rank-1 tensors (norms,
// biases). Metadata is copied, with general.file_type set to llama.cpp's
// value for the type (Q4_K: MOSTLY_Q4_K_S) and general.quantization_version
// to 2. Already quantized tensors are copied as they are.
func GGUF(ctx context.Context, f *gguf.File, b *gguf.Builder, opts Options) (*Report, error) {
	target, ftype, err := ggufTarget(opts.Type)
	if err != nil {
		return nil, err
	}
	if opts.BlockSize != 0 || opts.Asymmetric {
		return nil, fmt.Errorf("%w: GGUF type %s has a fixed block; --block-size and --asymmetric apply to mnb4/mnb8 only", ErrInput, opts.Type)
	}
	for _, kv := range f.Metadata {
		v := kv.Value
		switch kv.Key {
		case "general.file_type":
			v = gguf.Value{Type: gguf.TypeUint32, V: ftype}
		case "general.quantization_version":
			v = gguf.Value{Type: gguf.TypeUint32, V: uint32(2)}
		}
		if err := b.Set(kv.Key, v); err != nil {
			return nil, fmt.Errorf("quantize: metadata %q: %w", kv.Key, err)
		}
	}
	if err := b.Set("general.file_type", ftype); err != nil {
		return nil, fmt.Errorf("quantize: %w", err)
	}
	if err := b.Set("general.quantization_version", uint32(2)); err != nil {
		return nil, fmt.Errorf("quantize: %w", err)
	}
	r := &Report{Type: opts.Type}
	for i := range f.Tensors {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		ti := &f.Tensors[i]
		if opts.Progress != nil {
			opts.Progress(i, len(f.Tensors), ti.Name)
		}
		tr := TensorReport{Name: ti.Name, Before: ti.Size}
		for _, d := range ti.Dims {
			tr.Shape = append(tr.Shape, int64(d))
		}
		typ := target
		isFloat := ti.Type == quant.F32 || ti.Type == quant.F16 || ti.Type == quant.BF16
		switch {
		case !isFloat:
			tr.Skipped = fmt.Sprintf("already %s", ti.Type)
		case len(ti.Dims) < 2:
			tr.Skipped = fmt.Sprintf("rank %d (kept %s)", len(ti.Dims), ti.Type)
		case !strings.HasSuffix(ti.Name, "weight"):
			tr.Skipped = fmt.Sprintf("not a weight (kept %s)", ti.Type)
		case ti.Dims[0]%uint64(typ.BlockSize()) != 0 && typ == quant.Q4_K && ti.Dims[0]%quant.QK == 0:
			typ = quant.Q8_0
		case ti.Dims[0]%uint64(typ.BlockSize()) != 0:
			tr.Skipped = fmt.Sprintf("row length %d is not a multiple of %s's block %d (kept %s)", ti.Dims[0], typ, typ.BlockSize(), ti.Type)
		}
		if tr.Skipped != "" {
			data, err := f.TensorData(ti.Name)
			if err != nil {
				return nil, fmt.Errorf("quantize: %w", err)
			}
			if err := b.AddTensor(ti.Name, ti.Type, ti.Dims, data); err != nil {
				return nil, fmt.Errorf("quantize: %w", err)
			}
			tr.After = tr.Before
			tr.Type = ti.Type.String()
			r.Tensors = append(r.Tensors, tr)
			continue
		}
		w, err := f.TensorFloat32(ti.Name)
		if err != nil {
			return nil, fmt.Errorf("quantize: %w", err)
		}
		nb, err := typ.RowBytes(len(w))
		if err != nil {
			return nil, fmt.Errorf("quantize: tensor %q: %w", ti.Name, err)
		}
		enc := make([]byte, nb)
		if err := quant.Quantize(typ, enc, w); err != nil {
			return nil, fmt.Errorf("quantize: tensor %q: %w", ti.Name, err)
		}
		dq := make([]float32, len(w))
		if err := quant.Dequantize(typ, dq, enc); err != nil {
			return nil, fmt.Errorf("quantize: tensor %q: %w", ti.Name, err)
		}
		if err := b.AddTensor(ti.Name, typ, ti.Dims, enc); err != nil {
			return nil, fmt.Errorf("quantize: %w", err)
		}
		tr.Quantized = true
		tr.Type = typ.String()
		if typ != target {
			tr.Note = fmt.Sprintf("fallback to %s: row length %d is not a multiple of %d", typ, ti.Dims[0], target.BlockSize())
		}
		tr.RMSE, tr.MaxAbs, tr.RelRMSE = errorStats(w, dq)
		tr.After = int64(nb)
		r.Tensors = append(r.Tensors, tr)
	}
	if opts.Progress != nil {
		opts.Progress(len(f.Tensors), len(f.Tensors), "")
	}
	return r, nil
}

// errorStats returns the RMSE, maximum absolute error and RMSE relative to
// the root mean square of w, in float64.
func errorStats(w, dq []float32) (rmse, maxAbs, rel float64) {
	var se, sw float64
	for i, v := range w {
		d := float64(v) - float64(dq[i])
		se += d * d
		sw += float64(v) * float64(v)
		maxAbs = max(maxAbs, math.Abs(d))
	}
	if len(w) == 0 {
		return 0, 0, 0
	}
	rmse = math.Sqrt(se / float64(len(w)))
	if sw > 0 {
		rel = math.Sqrt(se / sw)
	}
	return rmse, maxAbs, rel
}

func ggufFile(ctx context.Context, in, out string, opts Options) (*Report, error) {
	f, err := gguf.Open(in)
	if err != nil {
		return nil, fmt.Errorf("quantize: %w", err)
	}
	defer f.Close()
	b := gguf.NewBuilder()
	r, err := GGUF(ctx, f, b, opts)
	if err != nil {
		return nil, err
	}
	if err := b.WriteFile(out); err != nil {
		return nil, fmt.Errorf("quantize: %w", err)
	}
	return r, nil
}
