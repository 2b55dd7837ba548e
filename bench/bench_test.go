package bench

import (
	"context"
	"github.com/zerfoo/zerfoo/gguf/quant"
	"strings"
	"testing"
	"time"
)

func TestMatMulChecksAndTimes(t *testing.T) {
	r, err := MatMul(context.Background(), 33, 17, 65, time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if r.Reps < 1 || r.PerRep <= 0 || r.GFLOPS <= 0 {
		t.Fatalf("MatMul result %+v: want at least one timed repetition", r)
	}
	if !strings.Contains(r.String(), "matmul 33x17x65 f32") {
		t.Fatalf("String() = %q, want the workload name", r.String())
	}
}

func TestMatMulCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := MatMul(ctx, 256, 256, 256, time.Second); err == nil {
		t.Fatal("MatMul on a cancelled context returned nil error")
	}
}

func TestMatMulNBitsChecksAndTimes(t *testing.T) {
	for _, level := range []int{0, 4} {
		for _, zp := range []bool{false, true} {
			r, err := MatMulNBits(context.Background(), NBitsConfig{M: 3, K: 100, N: 40, Bits: 4, BlockSize: 32, AccuracyLevel: level, ZeroPoints: zp, Threads: 1, Stream: zp})
			if err != nil {
				t.Fatal(err)
			}
			if r.Reps < 5 || r.MedianNs <= 0 || r.GFLOPS <= 0 || r.GBps <= 0 {
				t.Fatalf("level %d: result %+v: want ≥5 timed repetitions and positive rates", level, r)
			}
			if zp && (r.StreamGBps <= 0 || r.StreamRatio <= 0) {
				t.Fatalf("level %d: result %+v: want a streaming rate and ratio", level, r)
			}
			if want := map[int]int{0: 32, 4: 24}[level]; r.ScaleBits != want {
				t.Errorf("level %d: scales stored in %d bits, want %d", level, r.ScaleBits, want)
			}
		}
	}
	if _, err := MatMulNBits(context.Background(), NBitsConfig{M: 1, K: 64, N: 16, Bits: 3, BlockSize: 32}); err == nil {
		t.Fatal("bits 3: got nil error, want one")
	}
}

func TestGGUFChecksAndTimes(t *testing.T) {
	for _, typ := range GGUFTypes() {
		k := 512
		r, err := GGUF(context.Background(), GGUFConfig{Type: typ, M: 3, K: k, N: 40, Threads: 1, Stream: typ == quant.Q4_K})
		if err != nil {
			t.Fatalf("%v: %v", typ, err)
		}
		if r.Reps < 5 || r.MedianNs <= 0 || r.GFLOPS <= 0 || r.GBps <= 0 || r.Bytes < r.FileBytes*9/10 {
			t.Fatalf("%v: result %+v: want ≥5 timed repetitions, positive rates and about the file's bytes", typ, r)
		}
	}
	// PreferSpeed's form of IQ3_S: checked against float64 like the other,
	// and never smaller.
	var bytes [2]int
	for i, speed := range []bool{false, true} {
		r, err := GGUF(context.Background(), GGUFConfig{Type: quant.IQ3_S, M: 1, K: 512, N: 40, Threads: 1, PreferSpeed: speed})
		if err != nil || r.Checked == "" {
			t.Fatalf("IQ3_S PreferSpeed %v: %+v, %v", speed, r, err)
		}
		bytes[i] = r.Bytes
	}
	if bytes[1] < bytes[0] {
		t.Errorf("IQ3_S: PreferSpeed packs %d bytes, the default %d", bytes[1], bytes[0])
	}
	if _, err := GGUF(context.Background(), GGUFConfig{Type: quant.Q4_K, M: 1, K: 100, N: 16}); err == nil {
		t.Fatal("Q4_K with K=100: got nil error, want one")
	}
	if _, err := GGUF(context.Background(), GGUFConfig{Type: quant.F32, M: 1, K: 256, N: 16}); err == nil {
		t.Fatal("F32: got nil error, want one")
	}
}
