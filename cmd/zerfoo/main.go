// Command zerfoo runs quantized models and Zerfoo's standard workloads.
//
// Usage:
//
//	zerfoo generate [--model F.gguf] --prompt TEXT|- [--chat] [--max-tokens N] [--temperature T] ...
//	zerfoo chat [--model F.gguf]
//	zerfoo serve --model F.gguf [--addr 127.0.0.1:8080] [--parallel N] [--max-queue Q] ...
//	zerfoo bench [matmul] [--size MxNxK,...] [--min-time 1s] [--threads N]
//	zerfoo bench matmulnbits --m M --k K --n N --bits B --block-size S [--accuracy-level L] [--json]
//	zerfoo gguf inspect FILE
//	zerfoo tokenize --model F.gguf [--] TEXT|-
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
//
// Results go to stdout; progress, statistics and notices go to stderr
// (progress bars only when stderr is a terminal; --quiet drops them). Every
// option is checked before a model is loaded or anything is printed. The
// exit status is 0 on success, 1 on a runtime error, 2 on a usage error
// (unknown flag, missing or bad value: a one-line message on stderr) and
// 130 when interrupted (Ctrl-C; a second Ctrl-C ends the process at once).
// `zerfoo serve` shuts down gracefully on SIGINT or SIGTERM and exits 0.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"

	"github.com/alecthomas/kong"
	"golang.org/x/term"
)

type cli struct {
	Quiet bool `short:"q" help:"Print no progress (bars or lines) on stderr."`

	Bench    benchCmd    `cmd:"" help:"Run the standard workloads (float32 matmul by default, matmulnbits) and print their speed."`
	Generate generateCmd `cmd:"" help:"Generate text from a Gemma 3 GGUF model."`
	Chat     chatCmd     `cmd:"" help:"Chat with a Gemma 3 GGUF model."`
	GGUF     ggufCmd     `cmd:"" name:"gguf" help:"Inspect GGUF model files."`
	Onnx     onnxCmd     `cmd:"" name:"onnx" help:"Inspect and run ONNX models."`
	Tokenize tokenizeCmd `cmd:"" help:"Tokenize text with a GGUF file's tokenizer and print ids and pieces."`
	Serve    serveCmd    `cmd:"" help:"Serve a Gemma 3 GGUF model over the OpenAI HTTP API."`
	Quantize quantizeCmd `cmd:"" help:"Quantize a model's float weights (GGUF → a llama.cpp file type as llama-quantize writes it, ONNX MatMul → MatMulNBits)."`
	Convert  convertCmd  `cmd:"" help:"Convert a Hugging Face Gemma 3 checkpoint folder (safetensors) to GGUF, as convert_hf_to_gguf.py (and llama-quantize) would."`
	Train    trainCmd    `cmd:"" help:"Train a Gemma 3 architecture model and its tokenizer on a text corpus (GGUF F32 checkpoints)."`
	Version  versionCmd  `cmd:"" help:"Print the zerfoo version, VCS revision and Go version."`
}

// streams are a command's standard files and how to report progress on
// them; every Run receives them.
type streams struct {
	in       io.Reader
	out, err io.Writer
	tty      bool // err is a terminal: progress bars may redraw their line
	quiet    bool // --quiet: no progress at all
}

// Exit statuses.
const (
	exitOK          = 0
	exitError       = 1   // a runtime error
	exitUsage       = 2   // a usage error
	exitInterrupted = 130 // 128 + SIGINT, as shells report it
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	// The first Ctrl-C cancels ctx; from then on a second one ends the
	// process (as when a model load cannot stop early).
	context.AfterFunc(ctx, stop)
	os.Exit(run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// kongExit carries kong's exit status (after --help) out of Parse.
type kongExit int

// run runs the command line args (without the program name) and returns
// the exit status.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) (code int) {
	s := &streams{in: stdin, out: stdout, err: stderr}
	if f, ok := stderr.(*os.File); ok {
		s.tty = term.IsTerminal(int(f.Fd()))
	}
	var c cli
	k, err := kong.New(&c,
		kong.Name("zerfoo"),
		kong.Description("Zerfoo: quantized neural networks in pure Go."),
		kong.Writers(stdout, stderr),
		kong.Exit(func(code int) { panic(kongExit(code)) }),
		kong.WithHyphenPrefixedParameters(true), // --max-tokens -1 is a value (then refused), not a flag
		kong.Bind(s),
		kong.BindTo(ctx, (*context.Context)(nil)),
	)
	if err != nil {
		panic(err) // the cli struct is malformed
	}
	defer func() {
		if r := recover(); r != nil {
			e, ok := r.(kongExit)
			if !ok {
				panic(r)
			}
			code = int(e)
		}
	}()
	kctx, err := k.Parse(args)
	if err != nil {
		usage := "zerfoo"
		var pe *kong.ParseError
		if errors.As(err, &pe) && pe.Context != nil {
			usage = commandPath(pe.Context.Selected())
		}
		fmt.Fprintf(stderr, "zerfoo: %v\nrun '%s --help' for usage\n", err, usage)
		return exitUsage
	}
	s.quiet = c.Quiet
	if err := kctx.Run(); err != nil {
		if errors.Is(err, context.Canceled) && ctx.Err() != nil {
			fmt.Fprintln(stderr, "zerfoo: interrupted")
			return exitInterrupted
		}
		fmt.Fprintln(stderr, "zerfoo:", err)
		return exitError
	}
	return exitOK
}

// commandPath returns "zerfoo gguf inspect" for the node of that command.
func commandPath(n *kong.Node) string {
	var parts []string
	for ; n != nil; n = n.Parent {
		if n.Type == kong.CommandNode {
			parts = append(parts, n.Name)
		}
	}
	parts = append(parts, "zerfoo")
	for i, j := 0, len(parts)-1; i < j; i, j = i+1, j-1 {
		parts[i], parts[j] = parts[j], parts[i]
	}
	return strings.Join(parts, " ")
}
