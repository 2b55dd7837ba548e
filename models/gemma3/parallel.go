package gemma3

import (
	"context"
	"sync/atomic"

	"github.com/zerfoo/zerfoo/internal/workerpool"
)

// pieces runs fn over [0, n) in pieces of size piece that up to threads
// participants (0: the whole worker pool) take from a shared counter, so
// that a participant the OS runs late (other processes on the cores) holds
// up at most one piece instead of a static half of the work. It allocates:
// prompt batches use it, decode steps do not.
func pieces(ctx context.Context, n, piece, threads int, fn func(lo, hi int)) error {
	parts := workerpool.Workers()
	if threads > 0 {
		parts = min(parts, threads)
	}
	np := (n + piece - 1) / piece
	if parts = min(parts, np); parts <= 1 {
		fn(0, n)
		return ctx.Err()
	}
	var next atomic.Int64
	return workerpool.ForN(ctx, parts, 1, parts, func(_, _ int) {
		for {
			i := int(next.Add(1)) - 1
			if i >= np {
				return
			}
			fn(i*piece, min((i+1)*piece, n))
		}
	})
}
