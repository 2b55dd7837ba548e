package main

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/zerfoo/zerfoo/bench"
	"github.com/zerfoo/zerfoo/budget"
	"github.com/zerfoo/zerfoo/gguf/quant"
)

// benchCmd groups the benchmark workloads; bare `zerfoo bench` runs matmul.
type benchCmd struct {
	Matmul      matmulCmd      `cmd:"" default:"withargs" help:"Float32 matrix multiplication through the CPU engine (the default)."`
	Matmulnbits matmulNBitsCmd `cmd:"" name:"matmulnbits" help:"Fused quantized matmul (ONNX MatMulNBits layout): median time, GFLOP/s, weight GB/s."`
	GGUF        ggufBenchCmd   `cmd:"" name:"gguf" help:"Fused matmul of one GGUF weight type (--type Q4_K …) as Zerfoo runs GGUF models: median time, GFLOP/s, weight GB/s."`
}

type ggufBenchCmd struct {
	Type    string        `help:"ggml weight type: F16, BF16, Q4_0, Q8_0, Q4_1, Q5_0, Q5_1, IQ4_NL, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, IQ4_XS, IQ3_S, IQ3_XXS, IQ2_XXS, IQ2_XS, IQ2_S, IQ1_S, IQ1_M, TQ1_0, TQ2_0." required:""`
	M       int           `help:"Rows of A (1 = decode, >1 = prefill)." default:"1"`
	K       int           `help:"Input features (a multiple of the type's block size)." default:"14336"`
	N       int           `help:"Output features." default:"4096"`
	Threads int           `help:"Threads (also GOMAXPROCS); 0 uses all cores." default:"0"`
	MinTime time.Duration `help:"Minimum time to repeat the workload (at least 5 repetitions)." default:"1s"`
	JSON    bool          `name:"json" help:"Print one JSON object (keys include median_ns, gflops, gbps)."`
	Stream  bool          `help:"Alternate each repetition with a streaming read of the same bytes and report the weights' share of its bandwidth."`
	Cold    bool          `help:"Read 64 MiB (untimed) before each repetition, warm-up included, and before each --stream read, so that each starts with cold caches."`
	// PreferSpeed is the load flag of generate, chat and serve.
	PreferSpeed bool `help:"Pack the type in its faster form where it has two (IQ2_S, IQ3_S, IQ1_S and IQ1_M as table codes on CPUs with AVX-512 VBMI; IQ2_XXS, IQ2_XS, IQ2_S, IQ1_S and IQ1_M on the other AVX2 CPUs), as --prefer-speed loads models."`
}

// Validate checks the flags before anything is allocated or printed.
func (c *ggufBenchCmd) Validate() error {
	var ck checks
	t, err := quant.ParseType(strings.ToUpper(c.Type))
	ck.check(err == nil || c.Type == "", "--type", c.Type, fmt.Sprintf("not a ggml type (%v)", err))
	sizes(&ck, c.M, c.K, c.N)
	ck.atLeast("--threads", c.Threads, 0, " (0: all cores)")
	ck.check(c.MinTime >= 0, "--min-time", c.MinTime, "must be ≥ 0")
	if ck.err == nil && err == nil {
		rb, rerr := t.RowBytes(c.K)
		ck.check(rerr == nil && c.K%t.BlockSize() == 0, "--k", c.K, fmt.Sprintf("must be a multiple of %v's block size %d", t, t.BlockSize()))
		if ck.err == nil {
			ck.err = budget.CheckElems("bench: the weights", rb, c.N)
		}
	}
	return ck.err
}

func (c *ggufBenchCmd) Run(ctx context.Context, s *streams) error {
	t, err := quant.ParseType(strings.ToUpper(c.Type))
	if err != nil {
		return fmt.Errorf("bench: --type: %w", err)
	}
	if c.Threads > 0 {
		runtime.GOMAXPROCS(c.Threads)
	}
	r, err := bench.GGUF(ctx, bench.GGUFConfig{Type: t, M: c.M, K: c.K, N: c.N, Threads: c.Threads,
		MinTime: c.MinTime, Stream: c.Stream, Cold: c.Cold, PreferSpeed: c.PreferSpeed})
	if err != nil {
		return err
	}
	if c.JSON {
		return json.NewEncoder(s.out).Encode(r)
	}
	_, err = fmt.Fprintln(s.out, r)
	return err
}

type matmulCmd struct {
	Size    []string      `help:"Matrix sizes as MxNxK, comma-separated." default:"512x512x512,1x4096x4096,128x2048x2048"`
	MinTime time.Duration `help:"Minimum time to repeat each workload." default:"1s"`
	Threads int           `help:"Worker threads (GOMAXPROCS); 0 keeps the default." default:"0"`
}

// Validate checks the flags before anything is allocated or printed.
func (c *matmulCmd) Validate() error {
	var ck checks
	for _, sz := range c.Size {
		_, err := parseSize(sz)
		if err != nil && ck.err == nil {
			ck.err = err
		}
	}
	ck.check(c.MinTime >= 0, "--min-time", c.MinTime, "must be ≥ 0")
	ck.atLeast("--threads", c.Threads, 0, " (0: the default)")
	return ck.err
}

// parseSize reads MxNxK and checks the three matrices against the memory
// budget.
func parseSize(s string) ([3]int, error) {
	var d [3]int
	parts := strings.Split(s, "x")
	for i, p := range parts {
		v, err := strconv.Atoi(p)
		if len(parts) != 3 || err != nil || v <= 0 {
			return d, fmt.Errorf("--size %q: want MxNxK with positive sizes (512x512x512)", s)
		}
		d[i] = v
	}
	m, n, k := d[0], d[1], d[2]
	for _, d := range [][2]int{{m, k}, {k, n}, {m, n}} {
		if err := budget.CheckElems("bench: a "+s+" operand", 4, d[0], d[1]); err != nil {
			return [3]int{}, fmt.Errorf("--size %s: %w", s, err)
		}
	}
	return d, nil
}

func (c *matmulCmd) Run(ctx context.Context, s *streams) error {
	if c.Threads > 0 {
		runtime.GOMAXPROCS(c.Threads)
	}
	fmt.Fprintf(s.out, "zerfoo bench: %d threads, best of repetitions over %v each\n", runtime.GOMAXPROCS(0), c.MinTime)
	for _, sz := range c.Size {
		d, err := parseSize(sz)
		if err != nil {
			return err
		}
		r, err := bench.MatMul(ctx, d[0], d[1], d[2], c.MinTime)
		if err != nil {
			return err
		}
		if _, err := fmt.Fprintln(s.out, r); err != nil {
			return err
		}
	}
	return nil
}

type matmulNBitsCmd struct {
	M             int           `help:"Rows of A (1 = decode, >1 = prefill)." default:"1"`
	K             int           `help:"Input features." default:"4096"`
	N             int           `help:"Output features." default:"4096"`
	Bits          int           `help:"Bits per weight: 2, 4 or 8." default:"4"`
	BlockSize     int           `help:"Quantization block size: 16..256, a power of two." default:"32"`
	Threads       int           `help:"Threads (also GOMAXPROCS); 0 uses all cores." default:"0"`
	AccuracyLevel int           `help:"0-3: float32 activations; 4: int8 activations (ONNX Runtime CompInt8)." default:"0"`
	ZeroPoints    bool          `help:"Use random packed zero points instead of the default 2^(bits-1)."`
	MinTime       time.Duration `help:"Minimum time to repeat the workload (at least 5 repetitions)." default:"1s"`
	JSON          bool          `name:"json" help:"Print one JSON object (keys include median_ns, gflops, gbps)."`
	Stream        bool          `help:"Alternate each repetition with a streaming read of the same bytes and report the weights' share of its bandwidth (stream_gbps, stream_ratio)."`
	Cold          bool          `help:"Read 64 MiB (untimed) before each repetition, warm-up included, and before each --stream read, so that each starts with cold caches, as when a decoder's other layers pass through."`
}

// Validate checks the flags before anything is allocated or printed.
func (c *matmulNBitsCmd) Validate() error {
	var ck checks
	sizes(&ck, c.M, c.K, c.N)
	ck.check(c.Bits == 2 || c.Bits == 4 || c.Bits == 8, "--bits", c.Bits, "must be 2, 4 or 8")
	ck.check(c.BlockSize >= 16 && c.BlockSize <= 256 && c.BlockSize&(c.BlockSize-1) == 0, "--block-size", c.BlockSize, "must be a power of two in [16, 256]")
	ck.check(c.AccuracyLevel >= 0 && c.AccuracyLevel <= 4, "--accuracy-level", c.AccuracyLevel, "must be in [0, 4]")
	ck.atLeast("--threads", c.Threads, 0, " (0: all cores)")
	ck.check(c.MinTime >= 0, "--min-time", c.MinTime, "must be ≥ 0")
	if ck.err == nil {
		ck.err = budget.CheckElems("bench: the weights", c.Bits, c.N, c.K/8+1)
	}
	return ck.err
}

// sizes checks the --m, --k and --n of a matmul.
func sizes(ck *checks, m, k, n int) {
	ck.atLeast("--m", m, 1, "")
	ck.atLeast("--k", k, 1, "")
	ck.atLeast("--n", n, 1, "")
	if ck.err == nil {
		ck.err = budget.CheckElems("bench: the activations", 4, m, k)
	}
}

func (c *matmulNBitsCmd) Run(ctx context.Context, s *streams) error {
	if c.Threads > 0 {
		runtime.GOMAXPROCS(c.Threads)
	}
	r, err := bench.MatMulNBits(ctx, bench.NBitsConfig{
		M: c.M, K: c.K, N: c.N, Bits: c.Bits, BlockSize: c.BlockSize, Threads: c.Threads,
		AccuracyLevel: c.AccuracyLevel, ZeroPoints: c.ZeroPoints, MinTime: c.MinTime, Stream: c.Stream, Cold: c.Cold,
	})
	if err != nil {
		return err
	}
	if c.JSON {
		return json.NewEncoder(s.out).Encode(r)
	}
	_, err = fmt.Fprintln(s.out, r)
	return err
}
