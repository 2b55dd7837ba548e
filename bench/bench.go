// Package bench runs Zerfoo's standard workloads and reports their speed.
// The zerfoo CLI's bench command is a thin wrapper over it; Go benchmarks
// (go test -bench) remain the tool for careful measurements.
package bench

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/zerfoo/zerfoo/compute"
	"github.com/zerfoo/zerfoo/numeric"
	"github.com/zerfoo/zerfoo/tensor"
)

// Result is the outcome of one workload.
type Result struct {
	Name    string        // workload, e.g. "matmul 512x512x512 f32"
	Reps    int           // timed repetitions
	PerRep  time.Duration // best time of one repetition
	GFLOPS  float64       // 2·m·n·k / PerRep, in 1e9 FLOP/s
	Checked string        // what was verified about the result
}

func (r Result) String() string {
	return fmt.Sprintf("%-34s %8.3f ms  %7.1f GFLOP/s  (%s)", r.Name, float64(r.PerRep.Microseconds())/1000, r.GFLOPS, r.Checked)
}

// MatMul multiplies a random m×k by a random k×n float32 matrix through the
// CPU engine, repeating for at least minTime, and checks a sample of the
// result against a float64 dot product.
func MatMul(ctx context.Context, m, n, k int, minTime time.Duration) (Result, error) {
	eng := compute.NewCPUEngine[float32](numeric.Float32Ops{})
	rng := rand.New(rand.NewPCG(1, 2))
	a, err := tensor.New[float32]([]int{m, k}, randSlice(rng, m*k))
	if err != nil {
		return Result{}, err
	}
	b, err := tensor.New[float32]([]int{k, n}, randSlice(rng, k*n))
	if err != nil {
		return Result{}, err
	}
	c, err := tensor.New[float32]([]int{m, n}, nil)
	if err != nil {
		return Result{}, err
	}
	r := Result{Name: fmt.Sprintf("matmul %dx%dx%d f32", m, n, k)}
	best := time.Duration(1<<63 - 1)
	start := time.Now()
	for r.Reps == 0 || time.Since(start) < minTime {
		t0 := time.Now()
		if _, err := eng.MatMul(ctx, a, b, c); err != nil {
			return r, err
		}
		if d := time.Since(t0); d < best {
			best = d
		}
		r.Reps++
	}
	r.PerRep = best
	r.GFLOPS = 2 * float64(m) * float64(n) * float64(k) / best.Seconds() / 1e9
	// Verify a few entries against float64 dot products.
	ad, bd, cd := a.Data(), b.Data(), c.Data()
	worst := 0.0
	for s := 0; s < 16; s++ {
		i, j := rng.IntN(m), rng.IntN(n)
		var want, mag float64
		for p := 0; p < k; p++ {
			x := float64(ad[i*k+p]) * float64(bd[p*n+j])
			want += x
			mag += abs(x)
		}
		if e := abs(float64(cd[i*n+j])-want) / (mag + 1e-30); e > worst {
			worst = e
		}
	}
	if worst > 1e-5 {
		return r, fmt.Errorf("bench: %s: result differs from float64 reference (relative error %.3g)", r.Name, worst)
	}
	r.Checked = fmt.Sprintf("16 entries match float64 within %.1e", worst)
	return r, nil
}

func randSlice(rng *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = rng.Float32()*2 - 1
	}
	return s
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}
