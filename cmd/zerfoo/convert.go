package main

import (
	"context"
	"fmt"
	"os"

	"github.com/zerfoo/zerfoo/budget"
	"github.com/zerfoo/zerfoo/hf"
	"github.com/zerfoo/zerfoo/quantize"
)

type convertCmd struct {
	Dir   string `arg:"" name:"HF_DIR" help:"Hugging Face Gemma 3 checkpoint folder: config.json, model.safetensors (or shards with model.safetensors.index.json), tokenizer.json, tokenizer_config.json, generation_config.json."`
	Out   string `required:"" type:"path" help:"Output GGUF file."`
	Type  string `help:"Output type, any case: F32, F16 or BF16 as convert_hf_to_gguf.py writes them, or a llama.cpp file type applied as llama-quantize does (Q8_0, Q4_K_M, Q6_K, …; see 'zerfoo quantize --help'). Default: convert_hf_to_gguf.py's --outtype auto (BF16 and F16 checkpoints keep their type, F32 ones become F16)."`
	Force bool   `help:"Overwrite the output if it exists."`
}

// Validate checks the arguments before anything is read.
func (c *convertCmd) Validate() error {
	if c.Dir != "" && !hf.IsFolder(c.Dir) {
		if fi, err := os.Stat(c.Dir); err != nil {
			return fmt.Errorf("HF_DIR %s: no such folder", c.Dir)
		} else if !fi.IsDir() {
			return fmt.Errorf("HF_DIR %s: not a folder", c.Dir)
		}
		return fmt.Errorf("HF_DIR %s: not a Hugging Face model folder (no %s)", c.Dir, hf.ConfigFile)
	}
	if c.Type != "" {
		t, err := quantize.ParseType(c.Type)
		if err != nil {
			return fmt.Errorf("--type %s: %w", c.Type, err)
		}
		if t.IsONNX() {
			return fmt.Errorf("--type %s: an ONNX type; a GGUF takes a llama.cpp file type such as Q4_K_M", c.Type)
		}
	}
	return nil
}

// Run converts, reporting progress and notices on stderr and the result
// (for quantized types, the per-tensor table first) on stdout.
func (c *convertCmd) Run(ctx context.Context, s *streams) error {
	bar := s.progress("converting", 0, true)
	opts := hf.ConvertOptions{
		Options: hf.Options{Notice: func(msg string) {
			if bar.drawn() {
				fmt.Fprintln(s.err)
			}
			fmt.Fprintln(s.err, msg)
		}},
		Type: quantize.Type(c.Type), Force: c.Force,
		Progress: bar.set,
	}
	r, err := hf.Convert(ctx, c.Dir, c.Out, opts)
	bar.finish()
	if err != nil {
		return err
	}
	if r.Report != nil {
		printReport(s.out, r.Report)
	}
	fmt.Fprintf(s.out, "wrote %s: %s, %d tensors, %s\n", c.Out, r.Type, r.Tensors, budget.FormatBytes(r.Size))
	return nil
}
