package bench

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/zerfoo/zerfoo/internal/qgemm"
	"github.com/zerfoo/zerfoo/numeric"
)

// NBitsConfig describes a MatMulNBits workload: Y[M][N] = A[M][K]·Wᵀ with
// W block-quantized as ONNX Runtime's com.microsoft.MatMulNBits.
type NBitsConfig struct {
	M, K, N       int
	Bits          int // 2, 4 or 8
	BlockSize     int // 16..256
	Threads       int // parallel chunks; 0 = all workers
	AccuracyLevel int // 0–3: float32 activations; 4: int8 activations
	ZeroPoints    bool
	MinTime       time.Duration // repeat for at least this long (and 5 times)
	// Stream alternates every repetition with a plain streaming read of as
	// many bytes as the repacked weights, with the same threads, and
	// reports its rate and the ratio (both then see the same machine load
	// and, for matrices larger than the cache, cold caches).
	Stream bool
	// Cold reads 64 MiB (untimed) before every repetition, warm-up
	// included, and before every Stream read, so that each starts with
	// its bytes evicted from the caches, as in a decoder where the other
	// layers' weights pass through the caches between two uses of this
	// one.
	Cold bool
}

// NBitsResult is the outcome of MatMulNBits.
type NBitsResult struct {
	Name     string  `json:"name"`
	M        int     `json:"m"`
	K        int     `json:"k"`
	N        int     `json:"n"`
	Bits     int     `json:"bits"`
	Block    int     `json:"block_size"`
	Threads  int     `json:"threads"`
	Level    int     `json:"accuracy_level"`
	ZP       bool    `json:"zero_points"`
	Reps     int     `json:"reps"`
	MedianNs int64   `json:"median_ns"`
	MinNs    int64   `json:"min_ns"`      // fastest repetition
	BestGF   float64 `json:"best_gflops"` // GFLOP/s of the fastest repetition
	GFLOPS   float64 `json:"gflops"`      // 2·M·N·K / median
	GBps     float64 `json:"gbps"`        // repacked weight bytes / median
	Bytes    int     `json:"weight_bytes"`
	// ScaleBits is how the repacked scales are stored: 32, 24 (accuracy
	// level 4, as layers/core stores them) or 16.
	ScaleBits   int     `json:"scale_bits"`
	StreamGBps  float64 `json:"stream_gbps,omitempty"`  // median streaming read of Bytes, with Stream
	StreamRatio float64 `json:"stream_ratio,omitempty"` // median of each repetition's rate ÷ the next read's
	Checked     string  `json:"checked"`
}

func (r NBitsResult) String() string {
	s := fmt.Sprintf("%-44s %9.3f ms  %7.1f GFLOP/s  %6.1f weight GB/s  (best %.1f GFLOP/s; %s)",
		r.Name, float64(r.MedianNs)/1e6, r.GFLOPS, r.GBps, r.BestGF, r.Checked)
	if r.StreamGBps > 0 {
		s += fmt.Sprintf("\n%-44s %6.1f GB/s streaming read of %d bytes: weights at %.0f%% of it", "", r.StreamGBps, r.Bytes, 100*r.StreamRatio)
	}
	return s
}

// MatMulNBits times the fused quantized matmul (internal/qgemm) on random
// weights and activations and checks 16 outputs against a float64
// reference: within 1e-5 of Σ|a·w| at levels 0–3, 5e-2 at level 4 (int8
// activations are lossy by design).
func MatMulNBits(ctx context.Context, c NBitsConfig) (NBitsResult, error) {
	if err := numeric.ValidateBlockParams(c.Bits, c.BlockSize); err != nil {
		return NBitsResult{}, fmt.Errorf("bench: %w", err)
	}
	if c.M <= 0 || c.K <= 0 || c.N <= 0 || c.AccuracyLevel < 0 || c.AccuracyLevel > 4 {
		return NBitsResult{}, fmt.Errorf("bench: matmulnbits m=%d k=%d n=%d level=%d: sizes must be positive and the level 0..4", c.M, c.K, c.N, c.AccuracyLevel)
	}
	rng := rand.New(rand.NewPCG(3, 4))
	q := &numeric.BlockQuantized{N: c.N, K: c.K, Bits: c.Bits, BlockSize: c.BlockSize}
	q.B = make([]uint8, c.N*q.KBlocks()*q.BlobSize())
	for i := range q.B {
		q.B[i] = uint8(rng.Uint32())
	}
	q.Scales = make([]float32, c.N*q.KBlocks())
	for i := range q.Scales {
		q.Scales[i] = (rng.Float32()*2 - 1) / 64
	}
	if c.ZeroPoints {
		q.ZeroPoints = make([]uint8, c.N*q.ZeroPointRowBytes())
		for i := range q.ZeroPoints {
			q.ZeroPoints[i] = uint8(rng.Uint32())
		}
	}
	var popts []qgemm.PackOption
	if c.AccuracyLevel == 4 {
		popts = append(popts, qgemm.CompactScales()) // as layers/core packs level 4
	}
	m, err := qgemm.PackNBits(q, popts...)
	if err != nil {
		return NBitsResult{}, fmt.Errorf("bench: %w", err)
	}
	a := randSlice(rng, c.M*c.K)
	y := make([]float32, c.M*c.N)
	opt := qgemm.Options{Threads: c.Threads}
	if c.AccuracyLevel == 4 {
		opt.Activations = qgemm.Int8
	}
	r := NBitsResult{
		Name: fmt.Sprintf("matmulnbits m%d k%d n%d b%d bs%d L%d t%d", c.M, c.K, c.N, c.Bits, c.BlockSize, c.AccuracyLevel, c.Threads),
		M:    c.M, K: c.K, N: c.N, Bits: c.Bits, Block: c.BlockSize, Threads: c.Threads, Level: c.AccuracyLevel,
		ZP: c.ZeroPoints, Bytes: m.Footprint(), ScaleBits: m.ScaleBits(),
	}
	if c.ZeroPoints {
		r.Name += " zp"
	}
	if c.Cold {
		r.Name += " cold"
	}
	stream := 0
	if c.Stream {
		stream = m.Footprint()
	}
	rr, err := repeat(ctx, c.MinTime, c.Threads, stream, c.Cold, func() error { return m.MatMul(ctx, y, a, c.M, nil, opt) })
	if err != nil {
		return r, err
	}
	flops := 2 * float64(c.M) * float64(c.N) * float64(c.K)
	med := rr.median()
	r.Reps, r.MedianNs, r.MinNs = len(rr.times), med.Nanoseconds(), rr.best().Nanoseconds()
	r.BestGF = flops / rr.best().Seconds() / 1e9
	r.GFLOPS = flops / med.Seconds() / 1e9
	r.GBps = float64(m.Footprint()) / med.Seconds() / 1e9
	if c.Stream {
		r.StreamGBps = rr.streamGBps()
		r.StreamRatio = rr.ratio(m.Footprint())
	}

	tol := 1e-5
	if c.AccuracyLevel == 4 {
		tol = 5e-2
	}
	row := make([]float32, c.K)
	worst := 0.0
	for s := 0; s < 16; s++ {
		i, j := rng.IntN(c.M), rng.IntN(c.N)
		if err := q.DequantizeRow(row, j); err != nil {
			return r, fmt.Errorf("bench: %w", err)
		}
		var want, mag float64
		for k, w := range row {
			x := float64(a[i*c.K+k]) * float64(w)
			want += x
			mag += math.Abs(x)
		}
		if e := math.Abs(float64(y[i*c.N+j])-want) / (mag + 1e-30); e > worst {
			worst = e
		}
	}
	if worst > tol {
		return r, fmt.Errorf("bench: %s: result differs from the float64 reference (relative error %.3g > %.0e)", r.Name, worst, tol)
	}
	r.Checked = fmt.Sprintf("16 entries within %.1e of float64", worst)
	return r, nil
}
