package qgemm

import (
	"context"
	"math/rand/v2"
	"testing"
)

// TestMatMulAllocs checks that steady-state calls do not allocate: the
// scratch buffers come from a pool and the kernels take their arguments on
// the stack, and the worker pool reuses its completion groups, so calls
// split over several threads do not allocate either.
func TestMatMulAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops items at random under -race")
	}
	rng := rand.New(rand.NewPCG(5, 6))
	m, err := PackNBits(randQuant(rng, 64, 256, 4, 32, true))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, tc := range []struct {
		rows, threads int
		act           Activations
		want          float64
	}{
		{1, 1, Float32, 0}, {1, 1, Int8, 0}, {9, 1, Float32, 0}, {9, 1, Int8, 0},
		{64, 0, Int8, 0}, {64, 0, Float32, 0},
	} {
		a := randA(rng, tc.rows*m.K)
		y := make([]float32, tc.rows*m.N)
		opt := Options{Activations: tc.act, Threads: tc.threads}
		got := testing.AllocsPerRun(50, func() {
			if err := m.MatMul(ctx, y, a, tc.rows, nil, opt); err != nil {
				t.Fatal(err)
			}
		})
		if got > tc.want {
			t.Errorf("rows %d threads %d act %d: got %v allocs per call, want ≤ %v", tc.rows, tc.threads, tc.act, got, tc.want)
		}
	}
}

// TestFootprint checks the repacked size: codes plus scales (plus zero
// points) per weight: ≤ 0.6 bytes per 4-bit weight from block size 64 up,
// at block size 32 when the scales are float16 values (GGUF, float16
// models) or stored compact (24 bits); 0.625 at block size 32 with exact
// general float32 scales.
func TestFootprint(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for _, tc := range []struct {
		bits, bs         int
		zp, f16, compact bool
		want             float64
	}{
		{4, 32, false, true, false, 0.5625}, {4, 64, false, true, false, 0.53125},
		{4, 32, false, false, false, 0.625}, {4, 64, false, false, false, 0.5625}, {4, 128, false, false, false, 0.53125},
		{4, 128, true, false, false, 0.5390625},
		{4, 32, false, false, true, 0.59375}, {4, 32, true, false, true, 0.625}, {4, 64, false, false, true, 0.546875},
		{4, 32, false, true, true, 0.5625}, // float16 values stay float16
		{8, 32, false, false, false, 1.125}, {2, 64, false, false, false, 0.3125},
	} {
		var opts []PackOption
		if tc.compact {
			opts = append(opts, CompactScales())
		}
		m, err := PackNBits(randQuant(rng, 64, 512, tc.bits, tc.bs, tc.zp, tc.f16), opts...)
		if err != nil {
			t.Fatal(err)
		}
		if got := float64(m.Footprint()) / float64(m.N*m.K); got != tc.want {
			t.Errorf("bits %d bs %d zp %v f16 %v compact %v: got %v bytes per weight, want %v",
				tc.bits, tc.bs, tc.zp, tc.f16, tc.compact, got, tc.want)
		}
	}
}

func TestXorWords(t *testing.T) {
	for _, n := range []int{0, 1, 31, 32, 33, 64, 100, 1000, 2*streamBlock + 100} {
		buf := make([]uint64, n)
		var want uint64
		for i := range buf {
			buf[i] = uint64(i)*0x9e3779b97f4a7c15 + 1
			want ^= buf[i]
		}
		if got := xorWords(buf); got != want {
			t.Errorf("xorWords(len %d) got %#x, want %#x", n, got, want)
		}
	}
}

func TestStreamRead(t *testing.T) {
	for _, n := range []int{0, 5, 32, 4096*32 + 7, 3*4096*32 + 11} {
		buf := make([]uint64, n)
		var want uint64
		for i := range buf {
			buf[i] = uint64(i)*0x9e3779b97f4a7c15 + 1
			want ^= buf[i]
		}
		for _, th := range []int{1, 2, 0} {
			if got := StreamRead(buf, th); got != want {
				t.Errorf("n %d threads %d: got %#x, want %#x (the XOR of every word)", n, th, got, want)
			}
		}
	}
}
