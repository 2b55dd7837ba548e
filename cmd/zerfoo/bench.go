package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/zerfoo/zerfoo/bench"
	"github.com/zerfoo/zerfoo/gguf/quant"
)

// benchCmd groups the benchmark workloads; bare `zerfoo bench` runs matmul.
type benchCmd struct {
	Matmul      matmulCmd      `cmd:"" default:"withargs" help:"Float32 matrix multiplication through the CPU engine (the default)."`
	Matmulnbits matmulNBitsCmd `cmd:"" name:"matmulnbits" help:"Fused quantized matmul (ONNX MatMulNBits layout): median time, GFLOP/s, weight GB/s."`
	GGUF        ggufBenchCmd   `cmd:"" name:"gguf" help:"Fused matmul of one GGUF weight type (--type Q4_K …) as Zerfoo runs GGUF models: median time, GFLOP/s, weight GB/s."`
}

type ggufBenchCmd struct {
	Type    string        `help:"ggml weight type: F16, BF16, Q4_0, Q8_0, Q4_1, Q5_0, Q5_1, IQ4_NL, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, IQ4_XS." required:""`
	M       int           `help:"Rows of A (1 = decode, >1 = prefill)." default:"1"`
	K       int           `help:"Input features (a multiple of the type's block size)." default:"14336"`
	N       int           `help:"Output features." default:"4096"`
	Threads int           `help:"Threads (also GOMAXPROCS); 0 uses all cores." default:"0"`
	MinTime time.Duration `help:"Minimum time to repeat the workload (at least 5 repetitions)." default:"1s"`
	JSON    bool          `name:"json" help:"Print one JSON object (keys include median_ns, gflops, gbps)."`
	Stream  bool          `help:"Alternate each repetition with a streaming read of the same bytes and report the weights' share of its bandwidth."`
	Cold    bool          `help:"Read 64 MiB before each repetition (untimed) so that it starts with cold caches."`
}

func (c *ggufBenchCmd) Run(ctx context.Context) error {
	t, err := quant.ParseType(strings.ToUpper(c.Type))
	if err != nil {
		return fmt.Errorf("bench: --type: %w", err)
	}
	if c.Threads > 0 {
		runtime.GOMAXPROCS(c.Threads)
	}
	r, err := bench.GGUF(ctx, bench.GGUFConfig{Type: t, M: c.M, K: c.K, N: c.N, Threads: c.Threads,
		MinTime: c.MinTime, Stream: c.Stream, Cold: c.Cold})
	if err != nil {
		return err
	}
	if c.JSON {
		return json.NewEncoder(os.Stdout).Encode(r)
	}
	fmt.Println(r)
	return nil
}

type matmulCmd struct {
	Size    []string      `help:"Matrix sizes as MxNxK, comma-separated." default:"512x512x512,1x4096x4096,128x2048x2048"`
	MinTime time.Duration `help:"Minimum time to repeat each workload." default:"1s"`
	Threads int           `help:"Worker threads (GOMAXPROCS); 0 keeps the default." default:"0"`
}

func (c *matmulCmd) Run(ctx context.Context) error {
	if c.Threads > 0 {
		runtime.GOMAXPROCS(c.Threads)
	}
	fmt.Printf("zerfoo bench: %d threads, best of repetitions over %v each\n", runtime.GOMAXPROCS(0), c.MinTime)
	for _, s := range c.Size {
		var m, n, k int
		if _, err := fmt.Sscanf(s, "%dx%dx%d", &m, &n, &k); err != nil || m <= 0 || n <= 0 || k <= 0 {
			return fmt.Errorf("bench: --size wants MxNxK with positive sizes, got %q", s)
		}
		r, err := bench.MatMul(ctx, m, n, k, c.MinTime)
		if err != nil {
			return err
		}
		fmt.Println(r)
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
	Cold          bool          `help:"Read 64 MiB before each repetition (untimed) so that it starts with cold caches, as when a decoder's other layers pass through."`
}

func (c *matmulNBitsCmd) Run(ctx context.Context) error {
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
		return json.NewEncoder(os.Stdout).Encode(r)
	}
	fmt.Println(r)
	return nil
}
