package bench

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/zerfoo/zerfoo/gguf/quant"
	"github.com/zerfoo/zerfoo/internal/hgemm"
	"github.com/zerfoo/zerfoo/internal/mmap"
	"github.com/zerfoo/zerfoo/internal/qgemm"
	"github.com/zerfoo/zerfoo/numeric"
)

// GGUFConfig describes a GGUF weight-type workload: Y[M][N] = A[M][K]·Wᵀ
// with W an N×K tensor of a ggml type, multiplied the way Zerfoo runs
// GGUF models (activations rounded as llama.cpp rounds them for the type,
// integer block dot products).
type GGUFConfig struct {
	Type    quant.Type
	M, K, N int
	Threads int           // parallel chunks; 0 = all workers
	MinTime time.Duration // repeat for at least this long (and 5 times)
	// Stream and Cold are as in NBitsConfig.
	Stream, Cold bool
	// PreferSpeed packs the type in its faster form where it has two
	// (qgemm.PackOptions.Speed: IQ2_S, IQ3_S, IQ1_S and IQ1_M as table
	// codes on CPUs with AVX-512 VBMI).
	PreferSpeed bool
}

// GGUFResult is the outcome of GGUF.
type GGUFResult struct {
	Name        string  `json:"name"`
	Type        string  `json:"type"`
	M           int     `json:"m"`
	K           int     `json:"k"`
	N           int     `json:"n"`
	Threads     int     `json:"threads"`
	Reps        int     `json:"reps"`
	MedianNs    int64   `json:"median_ns"`
	MinNs       int64   `json:"min_ns"`
	BestGF      float64 `json:"best_gflops"`
	GFLOPS      float64 `json:"gflops"`
	GBps        float64 `json:"gbps"`                   // packed weight bytes / median
	Bytes       int     `json:"weight_bytes"`           // packed weight bytes
	FileBytes   int     `json:"file_bytes"`             // the tensor's bytes in a GGUF file
	StreamGBps  float64 `json:"stream_gbps,omitempty"`  // median streaming read of Bytes, with Stream
	StreamRatio float64 `json:"stream_ratio,omitempty"` // median of each repetition's rate ÷ the next read's
	// StreamBestGBps and StreamBestRatio are the fastest read and the
	// fastest repetition's rate ÷ it.
	StreamBestGBps  float64 `json:"stream_best_gbps,omitempty"`
	StreamBestRatio float64 `json:"stream_best_ratio,omitempty"`
	Checked         string  `json:"checked"`
}

func (r GGUFResult) String() string {
	s := fmt.Sprintf("%-36s %9.3f ms  %7.1f GFLOP/s  %6.1f weight GB/s  (best %.1f GFLOP/s; %s)",
		r.Name, float64(r.MedianNs)/1e6, r.GFLOPS, r.GBps, r.BestGF, r.Checked)
	if r.StreamGBps > 0 {
		s += fmt.Sprintf("\n%-36s %6.1f GB/s streaming read of %d bytes (best %.1f): weights at %.0f%% of it (median of pairs; best %.0f%%)",
			"", r.StreamGBps, r.Bytes, r.StreamBestGBps, 100*r.StreamRatio, 100*r.StreamBestRatio)
	}
	return s
}

// ggufMatrix is the packed form of one weight type.
type ggufMatrix interface {
	matmul(ctx context.Context, y, a []float32, rows, threads int) error
	footprint() int
}

type halfMatrix struct{ m *hgemm.Matrix }

func (h halfMatrix) matmul(ctx context.Context, y, a []float32, rows, threads int) error {
	return h.m.MatMul(ctx, y, a, rows, threads)
}
func (h halfMatrix) footprint() int { return len(h.m.Data()) }

type superMatrix struct{ m *qgemm.GGML }

func (s superMatrix) matmul(ctx context.Context, y, a []float32, rows, threads int) error {
	return s.m.MatMul(ctx, y, a, rows, threads)
}
func (s superMatrix) footprint() int { return s.m.Footprint() }

// GGUFTypes lists the types GGUF measures.
func GGUFTypes() []quant.Type {
	ts := []quant.Type{quant.F16, quant.BF16}
	for _, t := range []quant.Type{quant.Q4_0, quant.Q8_0, quant.Q4_1, quant.Q5_0, quant.Q5_1, quant.IQ4_NL, quant.Q2_K,
		quant.Q3_K, quant.Q4_K, quant.Q5_K, quant.Q6_K, quant.IQ4_XS, quant.IQ3_S, quant.IQ3_XXS, quant.IQ2_XXS,
		quant.IQ2_XS, quant.IQ2_S, quant.IQ1_S, quant.IQ1_M, quant.TQ1_0, quant.TQ2_0} {
		if qgemm.GGMLSupported(t) {
			ts = append(ts, t)
		}
	}
	return ts
}

// halfFields are the byte offsets of the float16 fields (d, and dmin or
// m) in one block of each type: random tensors get finite scales there.
var halfFields = map[quant.Type][]int{
	quant.F16: nil, quant.BF16: nil, quant.Q4_0: {0}, quant.Q8_0: {0},
	quant.Q4_1: {0, 2}, quant.Q5_0: {0}, quant.Q5_1: {0, 2}, quant.IQ4_NL: {0},
	quant.Q2_K: {80, 82}, quant.Q3_K: {108}, quant.Q4_K: {0, 2}, quant.Q5_K: {0, 2},
	quant.Q6_K: {208}, quant.IQ4_XS: {0},
	quant.IQ3_S: {0}, quant.IQ3_XXS: {0}, quant.IQ2_XXS: {0}, quant.IQ2_XS: {0}, quant.IQ2_S: {0},
	quant.IQ1_S: {0}, quant.IQ1_M: {}, quant.TQ1_0: {52}, quant.TQ2_0: {64},
}

// randScale returns a random float16 scale (its bits) of either sign
// below 2^-6 in magnitude.
func randScale(rng *rand.Rand) uint16 {
	return numeric.Float16FromFloat32((rng.Float32()*2 - 1) / 64).Bits()
}

// GGUF times the fused kernel of c.Type on a random tensor (random codes,
// random float16 scales of both signs; F16/BF16: random values) and random
// activations, and checks
// 16 outputs against a float64 product of the tensor dequantized from the
// packed form and the unrounded activations: within 5e-2 of Σ|a·w| (the
// activations' 8-bit rounding is lossy by design).
func GGUF(ctx context.Context, c GGUFConfig) (GGUFResult, error) {
	offs, ok := halfFields[c.Type]
	if !ok {
		return GGUFResult{}, fmt.Errorf("bench: gguf: no kernel for type %v (have %v)", c.Type, GGUFTypes())
	}
	rb, err := c.Type.RowBytes(c.K)
	if c.M <= 0 || c.N <= 0 || c.K <= 0 || err != nil || c.K%c.Type.BlockSize() != 0 {
		return GGUFResult{}, fmt.Errorf("bench: gguf %v m=%d k=%d n=%d: sizes must be positive and K a multiple of %d",
			c.Type, c.M, c.K, c.N, c.Type.BlockSize())
	}
	rng := rand.New(rand.NewPCG(3, 4))
	data := make([]byte, c.N*rb)
	mmap.HugePages(data) // as a model's F16/BF16 copies are (and the streaming read's buffer)
	for i := range data {
		data[i] = uint8(rng.Uint32())
	}
	if c.Type == quant.F16 || c.Type == quant.BF16 {
		w := make([]float32, c.N*c.K)
		for i := range w {
			w[i] = (rng.Float32()*2 - 1) / 8
		}
		if err := quant.Quantize(c.Type, data, w); err != nil {
			return GGUFResult{}, fmt.Errorf("bench: %w", err)
		}
	}
	bb := c.Type.BlockBytes()
	for b := 0; b < len(data)/bb && c.Type != quant.F16 && c.Type != quant.BF16; b++ {
		for _, o := range offs {
			binary.LittleEndian.PutUint16(data[b*bb+o:], randScale(rng))
		}
		if c.Type == quant.IQ1_M { // d's nibbles, low first, atop the scale words at 48
			h := randScale(rng)
			for i := range 4 {
				o := b*bb + 48 + 2*i + 1
				data[o] = data[o]&0x0f | uint8(h>>(4*i)&15)<<4
			}
		}
	}
	var (
		m   ggufMatrix
		row func(j int, dst []float32) error
	)
	switch c.Type {
	case quant.F16, quant.BF16:
		f := hgemm.F16
		if c.Type == quant.BF16 {
			f = hgemm.BF16
		}
		hm, err := hgemm.New(f, c.N, c.K, data)
		if err != nil {
			return GGUFResult{}, fmt.Errorf("bench: %w", err)
		}
		m = halfMatrix{hm}
		row = hm.Row
	default: // the super-block tiles Gemma 3 models are packed into
		g, err := qgemm.PackGGMLWith(c.Type, c.N, c.K, func(j int) []byte { return data[j*rb : (j+1)*rb] },
			qgemm.PackOptions{Speed: c.PreferSpeed})
		if err != nil {
			return GGUFResult{}, fmt.Errorf("bench: %w", err)
		}
		m = superMatrix{g}
		row = func(j int, dst []float32) error { g.DequantizeRow(j, dst); return nil }
	}
	a := randSlice(rng, c.M*c.K)
	y := make([]float32, c.M*c.N)
	r := GGUFResult{
		Name: fmt.Sprintf("gguf %v m%d k%d n%d t%d", c.Type, c.M, c.K, c.N, c.Threads),
		Type: c.Type.String(), M: c.M, K: c.K, N: c.N, Threads: c.Threads,
		Bytes: m.footprint(), FileBytes: len(data),
	}
	if c.Cold {
		r.Name += " cold"
	}
	if c.PreferSpeed {
		r.Name += " prefer-speed"
	}
	stream := 0
	if c.Stream {
		stream = m.footprint()
	}
	rr, err := repeat(ctx, c.MinTime, c.Threads, stream, c.Cold, func() error { return m.matmul(ctx, y, a, c.M, c.Threads) })
	if err != nil {
		return r, err
	}
	flops := 2 * float64(c.M) * float64(c.N) * float64(c.K)
	med := rr.median()
	r.Reps, r.MedianNs, r.MinNs = len(rr.times), med.Nanoseconds(), rr.best().Nanoseconds()
	r.BestGF, r.GFLOPS = flops/rr.best().Seconds()/1e9, flops/med.Seconds()/1e9
	r.GBps = float64(r.Bytes) / med.Seconds() / 1e9
	if c.Stream {
		r.StreamGBps, r.StreamBestGBps = rr.streamGBps(), rr.streamBestGBps()
		r.StreamRatio = rr.ratio(r.Bytes)
		r.StreamBestRatio = float64(r.Bytes) / rr.best().Seconds() / 1e9 / r.StreamBestGBps
	}
	w := make([]float32, c.K)
	worst := 0.0
	for s := 0; s < 16; s++ {
		i, j := rng.IntN(c.M), rng.IntN(c.N)
		if err := row(j, w); err != nil {
			return r, fmt.Errorf("bench: %w", err)
		}
		var want, mag float64
		for k, wv := range w {
			x := float64(a[i*c.K+k]) * float64(wv)
			want += x
			mag += math.Abs(x)
		}
		if e := math.Abs(float64(y[i*c.N+j])-want) / (mag + 1e-30); e > worst {
			worst = e
		}
	}
	if worst > 5e-2 {
		return r, fmt.Errorf("bench: %s: result differs from the float64 reference (relative error %.3g > 5e-2)", r.Name, worst)
	}
	r.Checked = fmt.Sprintf("16 entries within %.1e of float64", worst)
	return r, nil
}
