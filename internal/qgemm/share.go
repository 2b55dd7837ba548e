package qgemm

import "sync/atomic"

// A one-row product (decode's GEMV) on several threads gives each
// participant one piece of the groups, read by the one-row kernels as ng
// runs side by side (ng streams). Fixed halves leave the first thread to
// finish idle while the other reads on: on the 2-vCPU EPYC of
// docs/PERFORMANCE.md, whose two vCPUs stream at different speeds (which
// one is slower changes from run to run), a 262144×640 Q8_0 LM head split
// in halves read at 84–89 % of the streaming read. So each
// piece's columns of runs (column c: group c of every run) form a deque:
// its owner takes columns from the front, and a participant done with its
// own piece takes columns from the back of the others'. Both take about
// 1/shareGuide of the columns left (at least a minimum that keeps a call
// long enough to stream), so claims are few while much is left and fine
// near the end, where they decide the balance. The owner's claims follow
// each other in memory, so its streams run on across calls.

// shareMinPiece is the least weight bytes of a piece for which the
// participants share columns. Stealing pays for a large matrix: on two
// threads a 262144×640 Q8_0 product (a small Gemma's LM head) read at
// 100–104 % of the streaming read instead of 84–89 %, and in decode steps
// of the seven quantized gemma-3-270m-shaped mixes, alternated with and
// without it, the share of the bound rose in 13 of 14 pairs (72.5–78.0 %
// → 75.0–85.4 % in the first pass). It does not pay for a decoder layer's
// products of a few hundred KiB: the stolen columns start four new
// streams for about a microsecond of work, and a chain of 270m-shaped
// layer products read 3–10 % slower. (A variable only so that tests can
// share small matrices.)
var shareMinPiece = 4 << 20

// shareGuide is the share of the columns left that one claim takes.
const shareGuide = 8

// shareMinBytes is the least weight bytes one claim reads (unless fewer
// are left): about a microsecond of streaming per call and claim.
const shareMinBytes = 32 << 10

// runDeque is the columns [front, back) of one piece's runs not yet
// claimed, in one word (front in the high half) on its own cache line.
type runDeque struct {
	v atomic.Uint64
	_ [56]byte
}

// reset makes columns [0, n) unclaimed.
func (d *runDeque) reset(n int) { d.v.Store(uint64(uint32(n))) }

// take claims columns from the front (back false) or the back: about
// 1/shareGuide of those left, at least minCols; ok is false when none is
// left.
func (d *runDeque) take(back bool, minCols int) (lo, hi int, ok bool) {
	for {
		v := d.v.Load()
		f, b := int(v>>32), int(uint32(v))
		if f >= b {
			return 0, 0, false
		}
		n := min(max(minCols, (b-f)/shareGuide), b-f)
		lo, hi = f, f+n
		nv := uint64(f+n)<<32 | uint64(b)
		if back {
			lo, hi = b-n, b
			nv = uint64(f)<<32 | uint64(b-n)
		}
		if d.v.CompareAndSwap(v, nv) {
			return lo, hi, true
		}
	}
}

// rowShare is the plan of a shared one-row product: parts pieces of piece
// groups (the last may be shorter) out of groups, of which the first full
// have all their columns inside the matrix, each piece's full groups
// walked as ng runs.
type rowShare struct {
	parts, piece, groups, full, ng int
	minCols                        int
	deques                         []runDeque
}

// plan sets up the share and resets its deques; groupBytes is the weight
// bytes of one group.
func (r *rowShare) plan(parts, piece, groups, full, ng, groupBytes int) {
	r.parts, r.piece, r.groups, r.full, r.ng = parts, piece, groups, full, ng
	r.minCols = max(1, shareMinBytes/(ng*groupBytes))
	if cap(r.deques) < parts {
		r.deques = make([]runDeque, parts)
	}
	r.deques = r.deques[:parts]
	for i := range r.deques {
		_, run, _ := r.runs(i)
		r.deques[i].reset(run)
	}
}

// runs returns piece i's first group, its columns of runs and its end.
func (r *rowShare) runs(i int) (lo, run, hi int) {
	lo = min(i*r.piece, r.groups)
	hi = min(lo+r.piece, r.groups)
	return lo, max(0, min(hi, r.full)-lo) / r.ng, hi
}

// rowKernels is what a shared one-row product calls: cols multiplies
// columns [c0, c1) of the runs of run columns of the piece starting at
// group lo; groups multiplies groups [lo, hi) one at a time.
type rowKernels interface {
	cols(lo, run, c0, c1 int)
	groups(lo, hi int)
}

// run runs the shares of participants [lo, hi): one, from a loop of one
// chunk per participant, or all of them when that loop runs inline.
func (r *rowShare) run(lo, hi int, k rowKernels) {
	for i := lo; i < hi; i++ {
		r.work(i, k)
	}
}

// work runs participant i's share: its piece's columns from the front, the
// groups of its piece outside the runs, then columns from the back of the
// other pieces until none is left.
func (r *rowShare) work(i int, k rowKernels) {
	lo, run, hi := r.drain(i, false, k)
	if rest := lo + r.ng*run; rest < hi {
		k.groups(rest, hi)
	}
	for d := 1; d < r.parts; d++ {
		r.drain((i+d)%r.parts, true, k)
	}
}

// drain multiplies piece j's columns, taken from the front or the back,
// until none is left, and returns the piece's runs.
func (r *rowShare) drain(j int, back bool, k rowKernels) (lo, run, hi int) {
	lo, run, hi = r.runs(j)
	for {
		c0, c1, ok := r.deques[j].take(back, r.minCols)
		if !ok {
			return lo, run, hi
		}
		k.cols(lo, run, c0, c1)
	}
}
