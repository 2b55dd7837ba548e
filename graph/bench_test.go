package graph_test

import (
	"fmt"
	"testing"

	"github.com/zerfoo/zerfoo/graph"
)

// BenchmarkChain measures the graph's per-node overhead: a chain of Scale
// nodes on a 4-element vector, so node work is negligible.
func BenchmarkChain(b *testing.B) {
	for _, n := range []int{10, 100} {
		bl := graph.NewBuilder[float32]("chain", nil)
		r := bl.Input("x", []int{4})
		for i := range n {
			r = bl.Add(fmt.Sprint("s", i), newScale(1.001), r)
		}
		bl.Output(bl.Add("sum", newSum(), r))
		g, err := bl.Build()
		if err != nil {
			b.Fatal(err)
		}
		x := vec(1, 2, 3, 4)
		b.Run(fmt.Sprintf("nodes=%d/forward", n), func(b *testing.B) {
			for b.Loop() {
				if _, err := g.Forward(ctx, x); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*(n+1)), "ns/node")
		})
		b.Run(fmt.Sprintf("nodes=%d/forward+backward", n), func(b *testing.B) {
			for b.Loop() {
				tape, err := g.Forward(ctx, x)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := g.Backward(ctx, tape); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*(n+1)), "ns/node")
		})
	}
}
