package qgemm

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/zerfoo/zerfoo/internal/cpucache"
	"github.com/zerfoo/zerfoo/internal/tune"
	"github.com/zerfoo/zerfoo/internal/workerpool"
)

// Activations selects the compute path of MatMul.
type Activations int

const (
	// Float32 multiplies float32 activations by the dequantized weights
	// (ONNX Runtime accuracy levels 0–3).
	Float32 Activations = iota
	// Int8 quantizes the activations per row and block to int8 and uses
	// integer block dot products (accuracy level 4).
	Int8
)

// Options tunes MatMul.
type Options struct {
	Activations Activations
	// Threads bounds the number of parallel chunks; 0 uses every worker of
	// the process-wide pool.
	Threads int
}

// rowTile is the most rows of A one kernel call handles.
const rowTile = 8

// MatMul computes y[r][n] = Σ_k a[r][k]·W[n][k] + bias[n] for r < rows, n <
// N, where a is rows×K and y rows×N (row-major) and bias is nil or has N
// values. It never materializes W: extra memory is O(rows·K) for the
// quantized or padded activations, reused across calls. The error wraps
// ErrArgs for short slices, or is ctx.Err().
func (m *Matrix) MatMul(ctx context.Context, y, a []float32, rows int, bias []float32, opt Options) error {
	return m.matmul(ctx, y, a, rows, bias, opt, best)
}

func (m *Matrix) matmul(ctx context.Context, y, a []float32, rows int, bias []float32, opt Options, v variant) error {
	if rows < 0 || len(a) < rows*m.K || len(y) < rows*m.N || (bias != nil && len(bias) < m.N) {
		return fmt.Errorf("qgemm: MatMul rows=%d K=%d N=%d: len(a)=%d len(y)=%d len(bias)=%d: %w",
			rows, m.K, m.N, len(a), len(y), len(bias), ErrArgs)
	}
	if rows == 0 {
		return ctx.Err()
	}
	s := scratchPool.Get().(*scratch)
	defer func() {
		s.m, s.y, s.a, s.bias = nil, nil, nil, nil
		scratchPool.Put(s)
	}()
	s.m, s.y, s.rows, s.bias, s.v = m, y, rows, bias, v
	s.i8 = opt.Activations == Int8
	kp := m.KBlocks * m.BlockSize
	switch {
	case s.i8:
		s.qa = grow(s.qa, rows*kp)
		s.sa = grow(s.sa, rows*m.KBlocks)
		s.suma = grow(s.suma, rows*m.KBlocks)
		quantizeRows(a, rows, m.K, m.BlockSize, s.qa, s.sa, s.suma)
		s.lda = kp
	case kp != m.K:
		// The kernels read whole blocks: give them zero-padded rows.
		s.apad = grow(s.apad, rows*kp)
		for r := 0; r < rows; r++ {
			copy(s.apad[r*kp:], a[r*m.K:(r+1)*m.K])
			clear(s.apad[r*kp+m.K : (r+1)*kp])
		}
		s.a, s.lda = s.apad, 4*kp
	default:
		s.a, s.lda = a, 4*m.K
	}
	parts := opt.Threads
	if parts <= 0 || parts > workerpool.Workers() {
		parts = workerpool.Workers()
	}
	s.piece = pieceGroups(m.Groups, parts, rows, m.K)
	if rows > rowTile {
		// Several row tiles read each piece's weights: keep a piece small
		// enough to stay in L2 between them, also on one thread (else a
		// matrix larger than the cache streams from memory once per tile).
		s.piece = max(1, min(s.piece, pieceBytes/m.groupBytes()))
	}
	s.next.Store(0)
	s.shared = false
	product := func(prefetch bool) error {
		s.prefetch = prefetch
		if parts == 1 || m.Groups <= s.piece {
			s.participate(0, 0)
			return ctx.Err()
		}
		if rows == 1 && s.piece*m.groupBytes() >= shareMinPiece {
			s.shared = true
			s.share.plan(parts, s.piece, m.Groups, m.N/GroupCols, s.oneRowGroups(), m.groupBytes())
		}
		return workerpool.ForN(ctx, parts, 1, parts, s.run)
	}
	if rows > 1 {
		return product(true)
	}
	// Decoding: with or without software prefetch, as this CPU reads this
	// matrix faster (tune.Prefetch).
	return m.pf[tune.Class(parts)].Run(m.Groups*m.groupBytes(), product)
}

// pieceGroups returns the groups of one piece of work of a product of
// rows rows over K on parts participants, which take pieces from a shared
// counter. Several rows: about 8 pieces per participant, each at least
// 256 K multiply-adds, so that a thread the OS preempts or wakes late
// holds up only a small piece. One row (decode's GEMV): one piece per
// participant, since the one-row kernels read a piece as 4 streams and
// every piece starts them anew: in decode steps alternated in one process
// (2 vCPUs, load 1.9–2.1), gemma-3-1b Q4_0 read at 79 % of the paired
// streaming read instead of 75 % on one thread, and 1b Q4_0 / Q8_0 /
// Q4_K_M and 270m Q5_K_M / IQ4_XS at 80–104 % instead of 77–98 % on two.
func pieceGroups(groups, parts, rows, k int) int {
	share := (groups + parts - 1) / parts
	if rows == 1 {
		return share
	}
	minPiece := (1<<18 + rows*k*GroupCols - 1) / (rows * k * GroupCols)
	return min(max(minPiece, groups/(8*parts)), share)
}

// scratch holds the per-call state and reusable buffers of MatMul.
type scratch struct {
	m     *Matrix
	y, a  []float32
	bias  []float32
	rows  int
	lda   int
	i8    bool
	v     variant
	qa    []int8
	sa    []float32
	suma  []int32
	apad  []float32
	piece int              // groups per piece of work
	next  atomic.Int64     // next group to take
	run   func(lo, hi int) // s.participate, bound once
	// shared: a one-row product on several threads, whose participants
	// share the work through share (participate's range is then pieces).
	shared bool
	share  rowShare
	// prefetch: the one-row kernels prefetch the weights.
	prefetch bool
}

var scratchPool = sync.Pool{New: func() any {
	s := new(scratch)
	s.run = s.participate
	return s
}}

func grow[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}

// participate computes pieces of groups until none is left; in a shared
// one-row product, it runs the shares of participants [lo, hi).
func (s *scratch) participate(lo, hi int) {
	if s.shared {
		s.share.run(lo, hi, s)
		return
	}
	for {
		lo := int(s.next.Add(int64(s.piece))) - s.piece
		if lo >= s.m.Groups {
			return
		}
		s.compute(lo, min(lo+s.piece, s.m.Groups))
	}
}

// compute runs the kernels for groups [lo, hi), all rows.
func (s *scratch) compute(lo, hi int) {
	if ng := s.oneRowGroups(); s.rows == 1 && ng > 1 {
		lo = s.computeGroups(lo, hi, ng)
	}
	s.tiles(lo, hi)
}

// oneRowGroups returns how many groups the one-row kernel of the variant
// reads at once for the matrix: 1 if there is no such kernel.
func (s *scratch) oneRowGroups() int {
	m := s.m
	if s.v.groups > 1 && s.i8 && m.ScalesLo == nil && m.ZeroPoints == nil {
		return s.v.groups
	}
	return 1
}

// tiles runs the kernels for groups [lo, hi) one group at a time, all rows.
func (s *scratch) tiles(lo, hi int) {
	m := s.m
	N := m.N
	var tmp [rowTile * GroupCols]float32
	p := kargs{steps: m.steps(), zpdef: int(m.DefaultZeroPoint()), table: &m.table[0], lda: s.lda}
	bs, bb := m.BlockSize, m.BlockBytes()
	// For long K, K is cut into chunks whose activations (rowTile rows)
	// take at most chunkBytes, so they stay in L2 while the groups stream
	// by; the kernels add into out after the first chunk. (Chunks sized for
	// L1 measured no faster at K = 4096.)
	elem := 4
	if s.i8 {
		elem = 1
	}
	kc := max(1, chunkBytes/(rowTile*elem*bs))
	if s.rows == 1 {
		kc = m.KBlocks // a single row: no reuse, one pass
	}
	for r0 := 0; r0 < s.rows; r0 += rowTile {
		mr := min(rowTile, s.rows-r0)
		for b0 := 0; b0 < m.KBlocks; b0 += kc {
			p.kb = min(kc, m.KBlocks-b0)
			p.accum = 0
			if b0 > 0 {
				p.accum = 1
			}
			if s.i8 {
				p.a = unsafe.Pointer(&s.qa[r0*s.lda+b0*bs])
				p.sa, p.suma, p.lds = &s.sa[b0*s.rows+r0], &s.suma[b0*s.rows+r0], 4*s.rows
			} else {
				p.a = unsafe.Pointer(&s.a[r0*s.lda/4+b0*bs])
			}
			last := b0+p.kb == m.KBlocks
			for g := lo; g < hi; g++ {
				blk := g*m.KBlocks + b0
				p.codes = &m.Codes[blk*bb]
				switch {
				case m.ScalesLo != nil:
					p.scales, p.f16 = unsafe.Pointer(&m.Scales16[blk*GroupCols]), 2
					p.scalesLo = &m.ScalesLo[blk*GroupCols]
				case m.Scales16 != nil:
					p.scales, p.f16 = unsafe.Pointer(&m.Scales16[blk*GroupCols]), 1
				default:
					p.scales = unsafe.Pointer(&m.Scales[blk*GroupCols])
				}
				p.zps = nil
				if m.ZeroPoints != nil {
					p.zps = &m.ZeroPoints[blk*GroupCols]
				}
				c0 := g * GroupCols
				full := c0+GroupCols <= N
				if full {
					p.out, p.ldo = &s.y[r0*N+c0], 4*N
				} else {
					p.out, p.ldo = &tmp[0], 4*GroupCols
				}
				s.v.call(&p, s.i8, m.Bits, mr)
				if !last {
					continue
				}
				nc := min(GroupCols, N-c0)
				for r := 0; r < mr; r++ {
					dst := s.y[(r0+r)*N+c0 : (r0+r)*N+c0+nc]
					if !full {
						copy(dst, tmp[r*GroupCols:])
					}
					if s.bias != nil {
						for j, b := range s.bias[c0 : c0+nc] {
							dst[j] += b
						}
					}
				}
			}
		}
	}
}

// computeGroups runs the one-row kernels that read ng groups at once on
// the full groups of [lo, hi), as ng runs of consecutive groups (one call
// walks the ng runs side by side, so that the codes stream from ng places
// at once), and returns the first group it left to compute: the left-over
// groups.
func (s *scratch) computeGroups(lo, hi, ng int) int {
	run := max(0, min(hi, s.m.N/GroupCols)-lo) / ng
	if run > 0 {
		s.cols(lo, run, 0, run)
	}
	return lo + ng*run
}

// cols multiplies the one row by columns [c0, c1) of the runs of run
// groups that start at group lo (column c: group lo + i·run + c of each
// run i < oneRowGroups), with one call of the one-row kernel where the
// variant has one, else group by group.
func (s *scratch) cols(lo, run, c0, c1 int) {
	m := s.m
	ng := s.oneRowGroups()
	if ng > 1 {
		bb := m.BlockBytes()
		p := kargs{steps: m.steps(), zpdef: int(m.DefaultZeroPoint()), table: &m.table[0], lda: s.lda}
		p.kb = m.KBlocks
		p.a = unsafe.Pointer(&s.qa[0])
		p.sa, p.suma, p.lds = &s.sa[0], &s.suma[0], 4
		p.ldo = 4 * GroupCols * run
		scaleBytes := 4
		blk := (lo + c0) * m.KBlocks
		p.codes = &m.Codes[blk*bb]
		if m.Scales16 != nil {
			p.f16, scaleBytes = 1, 2
			p.scales = unsafe.Pointer(&m.Scales16[blk*GroupCols])
		} else {
			p.scales = unsafe.Pointer(&m.Scales[blk*GroupCols])
		}
		p.out = &s.y[(lo+c0)*GroupCols]
		if callGroups(s.v, &p, m.Bits, run*m.KBlocks*bb, scaleBytes*run*m.KBlocks*GroupCols, c1-c0, s.prefetch) {
			if s.bias != nil {
				for i := range ng {
					g := lo + i*run
					for n := (g + c0) * GroupCols; n < (g+c1)*GroupCols; n++ {
						s.y[n] += s.bias[n]
					}
				}
			}
			return
		}
	}
	for i := range ng {
		g := lo + i*run
		s.tiles(g+c0, g+c1)
	}
}

// groups multiplies groups [lo, hi) one at a time (rowKernels).
func (s *scratch) groups(lo, hi int) { s.tiles(lo, hi) }

// pieceBytes bounds the weight bytes of one piece of groups when several
// row tiles share it: half of this CPU's L2, leaving room for activations.
var pieceBytes = cpucache.L2() / 2

// chunkBytes bounds the activation bytes of one row tile per K chunk (a
// variable only so that tests can force several chunks).
var chunkBytes = 128 << 10
