package main

import (
	"context"
	"os"

	"github.com/zerfoo/zerfoo/gguf"
)

// ggufCmd groups commands on GGUF files.
type ggufCmd struct {
	Inspect ggufInspectCmd `cmd:"" help:"Print a GGUF file's metadata, tensor table, totals, bits per weight and a breakdown by tensor type."`
}

type ggufInspectCmd struct {
	File string `arg:"" type:"existingfile" help:"GGUF file."`
}

func (c *ggufInspectCmd) Run(ctx context.Context) error {
	f, err := gguf.Open(c.File)
	if err != nil {
		return err
	}
	defer f.Close()
	return gguf.Inspect(os.Stdout, f)
}
