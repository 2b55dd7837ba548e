package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/zerfoo/zerfoo/gguf"
)

// ggufCmd groups commands on GGUF files.
type ggufCmd struct {
	Inspect ggufInspectCmd `cmd:"" help:"Print a GGUF file's metadata, tensor table, totals, bits per weight and a breakdown by tensor type."`
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
	return gguf.Inspect(s.out, f)
}
