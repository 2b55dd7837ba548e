package exec

import (
	"context"
	"flag"
	"fmt"
	"runtime/pprof"
	"sort"
	"testing"
	"time"

	"github.com/zerfoo/zerfoo/tensor"
)

var (
	resnetSteps = flag.Int("resnet-steps", 0, "TestResNetSteps: runs whose per-step wall time is summed (0: skip)")
	resnetAB    = flag.Bool("resnet-ab", false, "TestResNetSteps: alternate runs with and without the windowed convolution products")
)

// TestResNetSteps logs the wall time of each step of the QDQ ResNet at the
// batches of -resnet-batches, summed over -resnet-steps runs (after 2
// warm-ups), largest first: where a thread count loses its time.
func TestResNetSteps(t *testing.T) {
	if *resnetDir == "" || *resnetSteps <= 0 {
		t.Skip("-resnet-dir or -resnet-steps not set")
	}
	for _, b := range resnetBatchList(t) {
		p, feeds := loadResNet(t, "qdq", b)
		sum := make([]time.Duration, len(p.main.steps))
		alt := make([]time.Duration, len(p.main.steps)) // -resnet-ab: without the windowed products
		for i := range p.main.steps {
			k := p.main.steps[i].kernel
			p.main.steps[i].kernel = func(ctx context.Context, in []tensor.Any) ([]tensor.Any, error) {
				t0 := time.Now()
				var out []tensor.Any
				var err error
				// labelled, for -test.cpuprofile and pprof -tagfocus=step=NAME
				pprof.Do(ctx, pprof.Labels("step", p.main.steps[i].name), func(ctx context.Context) { out, err = k(ctx, in) })
				if qconvWindows {
					sum[i] += time.Since(t0)
				} else {
					alt[i] += time.Since(t0)
				}
				return out, err
			}
		}
		ctx := context.Background()
		defer func() { qconvWindows = true }()
		for r := range 2 + *resnetSteps {
			if r == 2 {
				clear(sum)
				clear(alt)
			}
			for _, w := range []bool{true, false} {
				if !w && !*resnetAB {
					continue
				}
				qconvWindows = w
				if _, err := p.Run(ctx, feeds); err != nil {
					t.Fatal(err)
				}
			}
		}
		idx := make([]int, len(sum))
		var total, totalAlt time.Duration
		for i := range idx {
			idx[i] = i
			total += sum[i]
			totalAlt += alt[i]
		}
		sort.Slice(idx, func(a, b int) bool { return sum[idx[a]] > sum[idx[b]] })
		n := time.Duration(*resnetSteps)
		t.Logf("batch %d: %v a run in steps (without the windowed products: %v)", b, total/n, totalAlt/n)
		for _, i := range idx[:min(len(idx), 30)] {
			st := p.main.steps[i]
			t.Logf("%8.3f ms %5.1f%% (without windows %8.3f ms)  %s %s", float64(sum[i]/n)/1e6, 100*float64(sum[i])/float64(total), float64(alt[i]/n)/1e6, st.op, fmt.Sprint(st.name))
		}
	}
}
