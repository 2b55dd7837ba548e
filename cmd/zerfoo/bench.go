package main

import (
	"context"
	"fmt"
	"runtime"
	"time"

	"github.com/zerfoo/zerfoo/bench"
)

type benchCmd struct {
	Size    []string      `help:"Matrix sizes as MxNxK, comma-separated." default:"512x512x512,1x4096x4096,128x2048x2048"`
	MinTime time.Duration `help:"Minimum time to repeat each workload." default:"1s"`
	Threads int           `help:"Worker threads (GOMAXPROCS); 0 keeps the default." default:"0"`
}

func (c *benchCmd) Run(ctx context.Context) error {
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
