package main

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/zerfoo/zerfoo/quantize"
)

type quantizeCmd struct {
	In            string `required:"" help:"Input model (.onnx or .gguf)."`
	Out           string `required:"" type:"path" help:"Output model (same format)."`
	Type          string `required:"" help:"Target, any case. GGUF: a llama-quantize file type, applied with llama.cpp's per-tensor rules: Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q2_K, Q3_K_S, Q3_K_M (Q3_K), Q3_K_L, Q4_K_S, Q4_K_M (Q4_K), Q5_K_S, Q5_K_M (Q5_K), Q6_K, IQ4_NL, IQ4_XS, F16, BF16, F32. ONNX: mnb4, mnb8 (MatMulNBits)."`
	BlockSize     int    `default:"0" help:"MatMulNBits block size along K: 16, 32, 64, 128 or 256 (0: 32). GGUF types have fixed blocks."`
	Asymmetric    bool   `help:"MatMulNBits: store a zero point per block."`
	AccuracyLevel int    `default:"0" help:"MatMulNBits accuracy_level attribute (0: omitted; 4: int8 activations)."`
	Force         bool   `help:"Overwrite the output if it exists."`
}

// Validate checks the flags before the model is read.
func (q *quantizeCmd) Validate() error {
	var ck checks
	ck.file("--in", q.In)
	if q.Type != "" {
		_, err := quantize.ParseType(q.Type)
		if err != nil && ck.err == nil {
			ck.err = err
		}
	}
	ck.check(q.BlockSize == 0 || q.BlockSize >= 16 && q.BlockSize <= 256 && q.BlockSize&(q.BlockSize-1) == 0,
		"--block-size", q.BlockSize, "must be 0 or a power of two in [16, 256]")
	ck.check(q.AccuracyLevel >= 0 && q.AccuracyLevel <= 4, "--accuracy-level", q.AccuracyLevel, "must be in [0, 4]")
	return ck.err
}

// Run prints the per-tensor report on stdout and progress on stderr.
func (q *quantizeCmd) Run(ctx context.Context, s *streams) error {
	typ, err := quantize.ParseType(q.Type)
	if err != nil {
		return err
	}
	bar := s.progress("quantizing", 0, false)
	opts := quantize.Options{Type: typ, BlockSize: q.BlockSize, Asymmetric: q.Asymmetric, AccuracyLevel: q.AccuracyLevel,
		Progress: func(done, total int, name string) {
			if name != "" {
				bar.describe("quantizing " + name)
			}
			bar.set(int64(done), int64(total))
		}}
	r, err := quantize.File(ctx, q.In, q.Out, q.Force, opts)
	bar.finish()
	if err != nil {
		return err
	}
	printReport(s.out, r)
	return nil
}

// printReport writes the per-tensor table and the totals.
func printReport(w io.Writer, r *quantize.Report) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "tensor\tshape\ttype\tRMSE\tmax abs\trel RMSE\tbefore\tafter\t\tnote")
	for _, t := range r.Tensors {
		if !t.Quantized {
			fmt.Fprintf(tw, "%s\t%v\t%s\t\t\t\t%d\t%d\t\tkept: %s\n", t.Name, t.Shape, t.Type, t.Before, t.After, t.Skipped)
			continue
		}
		fmt.Fprintf(tw, "%s\t%v\t%s\t%.3g\t%.3g\t%.4f\t%d\t%d\t\t%s\n", t.Name, t.Shape, t.Type, t.RMSE, t.MaxAbs, t.RelRMSE, t.Before, t.After, t.Note)
	}
	tw.Flush()
	before, after, n := r.Totals()
	ratio := 0.0
	if after > 0 {
		ratio = float64(before) / float64(after)
	}
	fmt.Fprintf(w, "%d tensors quantized to %s: %d → %d bytes (%.2f×); file %d → %d bytes\n",
		n, r.Type, before, after, ratio, r.FileBefore, r.FileAfter)
}
