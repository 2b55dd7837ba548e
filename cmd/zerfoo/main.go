// Command zerfoo runs quantized models and Zerfoo's standard workloads.
//
// Usage:
//
//	zerfoo generate [--model F.gguf] --prompt TEXT [--chat] [--max-tokens N] [--temperature T] ...
//	zerfoo chat [--model F.gguf]
//	zerfoo serve --model F.gguf [--addr 127.0.0.1:8080] [--parallel N] [--max-queue Q] ...
//	zerfoo bench [matmul] [--size MxNxK,...] [--min-time 1s] [--threads N]
//	zerfoo bench matmulnbits --m M --k K --n N --bits B --block-size S [--accuracy-level L] [--json]
//	zerfoo gguf inspect FILE
//	zerfoo tokenize --model F.gguf TEXT
//	zerfoo onnx inspect MODEL
//	zerfoo onnx run MODEL --input NAME=FILE.npy ... --output-dir DIR
//	zerfoo quantize --in MODEL --out MODEL --type Q4_K_M|Q8_0|...|mnb4|mnb8 [--block-size S] [--asymmetric]
//	zerfoo train --corpus DIR|FILE --out MODEL.gguf [--config tiny] [--steps N] [--qat-bits 4] [--resume]
//	zerfoo version
//
// Without --model, generate and chat use the small model embedded in the
// binary. Run any command with --help for its flags. The commands are thin
// wrappers over the library packages (generate, serve, bench, gguf,
// tokenizer, onnx/exec, quantize, models/gemma3/train).
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"

	"github.com/alecthomas/kong"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

type cli struct {
	Bench    benchCmd    `cmd:"" help:"Run the standard workloads (float32 matmul by default, matmulnbits) and print their speed."`
	Generate generateCmd `cmd:"" help:"Generate text from a Gemma 3 GGUF model."`
	Chat     chatCmd     `cmd:"" help:"Chat with a Gemma 3 GGUF model."`
	GGUF     ggufCmd     `cmd:"" name:"gguf" help:"Inspect GGUF model files."`
	Onnx     onnxCmd     `cmd:"" name:"onnx" help:"Inspect and run ONNX models."`
	Tokenize tokenizeCmd `cmd:"" help:"Tokenize text with a GGUF file's tokenizer and print ids and pieces."`
	Serve    serveCmd    `cmd:"" help:"Serve a Gemma 3 GGUF model over the OpenAI HTTP API."`
	Quantize quantizeCmd `cmd:"" help:"Quantize a model's float weights (GGUF → a llama.cpp file type as llama-quantize writes it, ONNX MatMul → MatMulNBits)."`
	Train    trainCmd    `cmd:"" help:"Train a Gemma 3 architecture model and its tokenizer on a text corpus (GGUF F32 checkpoints)."`
	Version  versionCmd  `cmd:"" help:"Print the zerfoo version."`
}

type versionCmd struct{}

func (versionCmd) Run(ctx context.Context) error {
	fmt.Println("zerfoo", version)
	return nil
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	var c cli
	k := kong.Parse(&c,
		kong.Name("zerfoo"),
		kong.Description("Zerfoo: quantized neural networks in pure Go."),
		kong.UsageOnError(),
		kong.BindTo(ctx, (*context.Context)(nil)),
	)
	if err := k.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "zerfoo:", err)
		os.Exit(1)
	}
}
