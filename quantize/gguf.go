package quantize

import (
	"context"
	"fmt"
	"math"

	"github.com/zerfoo/zerfoo/gguf"
	"github.com/zerfoo/zerfoo/gguf/quant"
)

// GGUF writes to b what llama-quantize writes for f and the llama.cpp file
// type opts.Type (a Mix), without an importance matrix:
//
//   - tensors in llama.cpp's order (see Order), each given its type by
//     Mix.TensorType: norms, rank-1 tensors and the other names llama.cpp
//     excludes are copied as they are; the rest are converted from F32, F16
//     or BF16 with gguf/quant's reference quantizers (ggml's *_ref
//     functions, row by row);
//   - dimensions written without trailing 1s, as ggml does;
//   - the metadata copied in order, except general.quantization_version
//     (2) and general.file_type (the mix's LLAMA_FTYPE value), which move to
//     the end.
//
// One deliberate difference: an input with a general.alignment other than
// 32 keeps its alignment (llama-quantize copies the key but lays the data
// out at 32).
//
// It fails, before writing anything to b, with an error wrapping ErrInput
// for an ONNX type, block-size options, Falcon or mixture-of-experts
// models, or an already quantized tensor the mix would convert
// (llama-quantize refuses requantizing too), and with an error wrapping
// quant.ErrType when the mix needs a type gguf/quant cannot quantize yet.
func GGUF(ctx context.Context, f *gguf.File, b *gguf.Builder, opts Options) (*Report, error) {
	m, ok := LookupMix(opts.Type)
	if !ok {
		return nil, fmt.Errorf("%w: type %q is not a GGUF type (a llama.cpp file type such as Q4_K_M)", ErrInput, opts.Type)
	}
	if opts.BlockSize != 0 || opts.Asymmetric {
		return nil, fmt.Errorf("%w: GGUF type %s has fixed blocks; --block-size and --asymmetric apply to mnb4/mnb8 only", ErrInput, opts.Type)
	}
	g, err := geometryOf(f)
	if err != nil {
		return nil, err
	}
	tensors := plan(m, f.Tensors, g)
	for _, p := range tensors {
		switch {
		case p.typ == p.info.Type:
		case !isFloat(p.info.Type):
			return nil, fmt.Errorf("%w: tensor %s is already %v; %s would convert it to %v (requantizing is not supported)", ErrInput, p.info.Name, p.info.Type, m.Name, p.typ)
		case !p.typ.CanQuantize():
			return nil, fmt.Errorf("quantize: %s needs %v for tensor %s: %w", m.Name, p.typ, p.info.Name, quant.ErrType)
		}
	}
	for _, kv := range f.Metadata {
		if kv.Key == gguf.KeyQuantizationVersion || kv.Key == gguf.KeyFileType {
			continue
		}
		if err := b.Set(kv.Key, kv.Value); err != nil {
			return nil, fmt.Errorf("quantize: metadata %q: %w", kv.Key, err)
		}
	}
	if err := b.Set(gguf.KeyQuantizationVersion, uint32(2)); err != nil {
		return nil, fmt.Errorf("quantize: %w", err)
	}
	if err := b.Set(gguf.KeyFileType, m.FileType); err != nil {
		return nil, fmt.Errorf("quantize: %w", err)
	}
	r := &Report{Type: m.Name}
	for i, p := range tensors {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		ti := p.info
		if opts.Progress != nil {
			opts.Progress(i, len(tensors), ti.Name)
		}
		dims := ti.Dims[:nDims(ti.Dims)]
		tr := TensorReport{Name: ti.Name, Before: ti.Size}
		for _, d := range ti.Dims {
			tr.Shape = append(tr.Shape, int64(d))
		}
		if p.typ == ti.Type {
			data, err := f.TensorData(ti.Name)
			if err != nil {
				return nil, fmt.Errorf("quantize: %w", err)
			}
			if err := b.AddTensor(ti.Name, ti.Type, dims, data); err != nil {
				return nil, fmt.Errorf("quantize: %w", err)
			}
			tr.After, tr.Type = tr.Before, ti.Type.String()
			switch {
			case !p.rule && len(dims) < 2:
				tr.Skipped = fmt.Sprintf("rank %d (kept %s)", len(dims), ti.Type)
			case !p.rule:
				tr.Skipped = fmt.Sprintf("never quantized by llama.cpp (kept %s)", ti.Type)
			default:
				tr.Skipped = fmt.Sprintf("already %s", ti.Type)
			}
			r.Tensors = append(r.Tensors, tr)
			continue
		}
		w, err := f.TensorFloat32(ti.Name)
		if err != nil {
			return nil, fmt.Errorf("quantize: %w", err)
		}
		nb, err := p.typ.RowBytes(len(w))
		if err != nil {
			return nil, fmt.Errorf("quantize: tensor %q: %w", ti.Name, err)
		}
		enc := make([]byte, nb)
		if err := quant.Quantize(p.typ, enc, w); err != nil {
			return nil, fmt.Errorf("quantize: tensor %q: %w", ti.Name, err)
		}
		dq := make([]float32, len(w))
		if err := quant.Dequantize(p.typ, dq, enc); err != nil {
			return nil, fmt.Errorf("quantize: tensor %q: %w", ti.Name, err)
		}
		if err := b.AddTensor(ti.Name, p.typ, dims, enc); err != nil {
			return nil, fmt.Errorf("quantize: %w", err)
		}
		tr.Quantized = true
		tr.Type = p.typ.String()
		switch {
		case p.typ != p.want:
			tr.Note = fmt.Sprintf("fallback from %s: row length %d is not a multiple of %d", p.want, ti.Dims[0], p.want.BlockSize())
		case p.typ != m.Default:
			tr.Note = fmt.Sprintf("%s rule (default %s)", m.Name, m.Default)
		}
		tr.RMSE, tr.MaxAbs, tr.RelRMSE = errorStats(w, dq)
		tr.After = int64(nb)
		r.Tensors = append(r.Tensors, tr)
	}
	if opts.Progress != nil {
		opts.Progress(len(tensors), len(tensors), "")
	}
	return r, nil
}

func isFloat(t quant.Type) bool { return t == quant.F32 || t == quant.F16 || t == quant.BF16 }

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
