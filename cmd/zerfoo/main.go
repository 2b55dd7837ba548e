// Command zerfoo runs quantized models and Zerfoo's standard workloads.
//
// Usage:
//
//	zerfoo bench [matmul] [--size MxNxK,...] [--min-time 1s] [--threads N]
//	zerfoo bench matmulnbits --m M --k K --n N --bits B --block-size S --threads T [--accuracy-level L] [--zero-points] [--json]
//	zerfoo version
//
// Run any command with --help for its flags.
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
	Quantize quantizeCmd `cmd:"" help:"Quantize a model's float weights (GGUF → Q4_0/Q4_K/Q8_0, ONNX MatMul → MatMulNBits)."`
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
