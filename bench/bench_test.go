package bench

import (
	"context"
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
