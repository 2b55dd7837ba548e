package main

import (
	"context"
	"errors"
	"fmt"
	"text/tabwriter"

	"github.com/zerfoo/zerfoo/gguf"
	"github.com/zerfoo/zerfoo/gguf/quant"
	"github.com/zerfoo/zerfoo/internal/qgemm"
)

// ggufCmd groups commands on GGUF files.
type ggufCmd struct {
	Inspect ggufInspectCmd `cmd:"" help:"Print a GGUF file's metadata, tensor table, totals, bits per weight, a breakdown by tensor type and how Zerfoo runs each type."`
}

type ggufInspectCmd struct {
	File string `arg:"" help:"GGUF file."`
}

// Validate checks the argument before the file is read.
func (c *ggufInspectCmd) Validate() error {
	var ck checks
	ck.file("", c.File)
	return ck.err
}

func (c *ggufInspectCmd) Run(ctx context.Context, s *streams) error {
	f, err := gguf.Open(c.File)
	if errors.Is(err, gguf.ErrSplitPart) {
		// A later file of a split model: show what it holds, and say so.
		f, err = gguf.Open(c.File, gguf.Options{SplitPart: true})
		if err == nil {
			fmt.Fprintf(s.out, "(one part of a split model: only this file's tensors; open its -00001-of- file for the whole model)\n")
		}
	}
	if err != nil {
		return err
	}
	defer f.Close()
	if err := gguf.Inspect(s.out, f); err != nil {
		return err
	}
	fmt.Fprintf(s.out, "\nHow Zerfoo runs each type's matrices:\n")
	tw := tabwriter.NewWriter(s.out, 0, 4, 2, ' ', 0)
	for _, st := range gguf.TypeStats(f) {
		fmt.Fprintf(tw, "  %v\t%s\n", st.Type, runsAs(st.Type))
	}
	return tw.Flush()
}

// runsAs says how a Gemma 3 model's matrices of type t are multiplied.
func runsAs(t quant.Type) string {
	switch {
	case t == quant.F32:
		return "float32"
	case t == quant.F16 || t == quant.BF16:
		return "16-bit kernels, as stored"
	case qgemm.GGMLSupported(t):
		const k = 256
		bpw := func(o qgemm.PackOptions) float64 {
			return float64(8*o.Bytes(t, qgemm.GroupCols, k)) / (qgemm.GroupCols * k)
		}
		tiles, fast := bpw(qgemm.PackOptions{}), bpw(qgemm.PackOptions{Speed: true})
		file := float64(8*t.BlockBytes()) / float64(t.BlockSize())
		also := ""
		if fast != tiles {
			also = fmt.Sprintf("; --prefer-speed: %.2f bits per weight, faster", fast)
		}
		if tiles > 1.125*file {
			return fmt.Sprintf("int8 kernels, repacked at %.2f bits per weight (%.1f× the file's) where the memory budget allows, else the reference path (slow)%s", tiles, tiles/file, also)
		}
		return fmt.Sprintf("int8 kernels, repacked at %.2f bits per weight%s", tiles, also)
	}
	if to, ok := quant.Reencoded(t); ok {
		return fmt.Sprintf("rewritten exactly as %v, then its int8 kernels", to)
	}
	return "the reference path (slow: no fused kernel)"
}
