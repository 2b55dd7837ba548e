package qgemm

import (
	"context"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/zerfoo/zerfoo/internal/tune"
	"github.com/zerfoo/zerfoo/internal/workerpool"
)

// gargs are the arguments of one super-block kernel call: rows [0, mr) of
// the quantized activations against the 16 columns of one group, over nsb
// super-blocks. The assembly reads the fields at fixed offsets: keep the
// order and the 8-byte size of each.
type gargs struct {
	tile  *uint8         // 0: first tile
	a     unsafe.Pointer // 8: int8 activations of row 0 at the first super-block
	lda   int            // 16: bytes between rows of a
	aux   unsafe.Pointer // 24: activation record (first super-block, row 0)
	ldaux int            // 32: bytes between super-blocks of aux
	out   *float32       // 40: row 0 of the 16 outputs
	ldo   int            // 48: bytes between rows of out
	nsb   int            // 56: super-blocks
	accum int            // 64: nonzero: add to out instead of storing
	lut   *uint8         // 72: the format's lutTable (nil without one)
}

// ggmlKernelGeneric is the specification of every super-block kernel: for
// r < mr and c < 16,
//
//	out[r][c] = Σ_sb fma(float32(isum), d·da, acc) + minterm
//	isum      = Σ_sub sc·(Σ_k qa·u − zp·Σ_k qa)        (sc = 1 without sub-scales)
//	minterm   = + m·s_a                                 (Q4_1, Q5_1)
//	          − float32(Σ_sub m_sub·bsum_sub)·(dmin·da)  (K-quants with mins)
//
// accumulated in float32 in super-block order, as llama.cpp's vec_dot
// functions do.
func ggmlKernelGeneric(f *format, p *gargs, mr int) {
	tb := f.tileBytes()
	ab := f.auxBytes()
	tiles := unsafe.Slice(p.tile, p.nsb*tb)
	var acc [8][GroupCols]float32
	for sb := 0; sb < p.nsb; sb++ {
		tile := tiles[sb*tb : (sb+1)*tb]
		for r := 0; r < mr; r++ {
			qa := unsafe.Slice((*int8)(unsafe.Add(p.a, r*p.lda+sb*f.sb)), f.sb)
			rec := unsafe.Slice((*byte)(unsafe.Add(p.aux, sb*p.ldaux+r*ab)), ab)
			da, sa := getF32(rec), getF32(rec[4:])
			for c := 0; c < GroupCols; c++ {
				var isum, msum int32
				for sub := 0; sub < f.nsub(); sub++ {
					var dot int32
					for j := sub * f.sub; j < (sub+1)*f.sub; j++ {
						u := f.tileCode(tile, c, j)
						if f.lut != nil {
							u = f.lut.u[u]
						}
						dot += int32(qa[j]) * int32(u)
					}
					if f.zp != 0 {
						dot -= getI32(rec[f.zpOff()+4*sub:])
					}
					if f.subScales {
						dot *= int32(int8(tile[f.scOff()+sub*GroupCols+c]))
					}
					isum += dot
					if f.mins == minsSub {
						msum += int32(tile[f.minOff()+(sub/2)*2*GroupCols+2*c+sub%2]) * int32(getI16(rec[f.bsumOff()+2*sub:]))
					}
				}
				d := f16(tile[f.dOff()+2*c:])
				v := fma32(float32(isum), d*da, acc[r][c])
				switch f.mins {
				case minsHalf:
					v = fma32(f16(tile[f.dOff()+2*GroupCols+2*c:]), sa, v)
				case minsSub:
					v = fma32(-float32(msum), f16(tile[f.dOff()+2*GroupCols+2*c:])*da, v)
				}
				acc[r][c] = v
			}
		}
	}
	for r := 0; r < mr; r++ {
		out := unsafe.Slice((*float32)(unsafe.Add(unsafe.Pointer(p.out), r*p.ldo)), GroupCols)
		for c, v := range acc[r] {
			if p.accum != 0 {
				v += out[c]
			}
			out[c] = v
		}
	}
}

func fma32(a, b, c float32) float32 { return float32(math.FMA(float64(a), float64(b), float64(c))) }

func getF32(p []byte) float32 { return math.Float32frombits(getU32(p)) }
func getI32(p []byte) int32   { return int32(getU32(p)) }
func getI16(p []byte) int16   { return int16(uint16(p[0]) | uint16(p[1])<<8) }
func getU32(p []byte) uint32 {
	_ = p[3]
	return uint32(p[0]) | uint32(p[1])<<8 | uint32(p[2])<<16 | uint32(p[3])<<24
}

// ggmlRowTile is the most rows one super-block kernel call takes.
const ggmlRowTile = 8

// MatMul computes y[r][n] = Σ_k a[r][k]·W[n][k] for r < rows, n < N (a is
// rows×K, y rows×N, row-major), rounding the activations as llama.cpp
// does for the type (Q8_0, Q8_1 or Q8_K) and multiplying them by the
// tiles with integer dot products. threads bounds the parallel pieces (0:
// every worker of the pool). The error wraps ErrArgs for short slices, or
// is ctx.Err().
func (m *GGML) MatMul(ctx context.Context, y, a []float32, rows, threads int) error {
	return m.matmul(ctx, y, a, rows, threads, ggmlBest)
}

func (m *GGML) matmul(ctx context.Context, y, a []float32, rows, threads int, v ggmlVariant) error {
	if rows < 0 || len(a) < rows*m.K || len(y) < rows*m.N {
		return fmt.Errorf("qgemm: %v MatMul rows=%d K=%d N=%d: len(a)=%d len(y)=%d: %w",
			m.f.t, rows, m.K, m.N, len(a), len(y), ErrArgs)
	}
	if rows == 0 {
		return ctx.Err()
	}
	s := ggmlScratchPool.Get().(*ggmlScratch)
	defer func() {
		s.m, s.y = nil, nil
		ggmlScratchPool.Put(s)
	}()
	s.m, s.y, s.rows, s.v = m, y, rows, v
	parts := threads
	if parts <= 0 || parts > workerpool.Workers() {
		parts = workerpool.Workers()
	}
	if rows >= 16 && parts > 1 {
		// Prompt batches: quantize the rows in parallel too.
		f, acts := m.f, &s.acts
		acts.grow(f, rows, m.K)
		if err := workerpool.ForN(ctx, rows, 8, parts, func(lo, hi int) {
			quantizeActRows(f, a, lo, hi, rows, m.K, acts)
		}); err != nil {
			return err
		}
	} else {
		quantizeActs(m.f, a, rows, m.K, &s.acts)
	}
	tileGroup := m.K / m.f.sb * m.f.tileBytes()
	s.piece = pieceGroups(m.Groups, parts, rows, m.K)
	if rows > ggmlRowTile {
		wideGroup := tileGroup // the bytes the row tiles read: a grid format's expanded
		if m.f.grid != nil {
			wideGroup = m.K / m.f.sb * m.f.grid.wide.tileBytes()
		}
		s.piece = max(1, min(s.piece, pieceBytes/wideGroup))
	}
	s.next.Store(0)
	s.shared = false
	product := func(prefetch bool) error {
		s.prefetch = prefetch
		if parts == 1 || m.Groups <= s.piece {
			s.participate(0, 0)
			return ctx.Err()
		}
		if rows == 1 && s.piece*tileGroup >= shareMinPiece {
			s.shared = true
			s.share.plan(parts, s.piece, m.Groups, m.N/GroupCols, max(1, s.v.groups), tileGroup)
		}
		return workerpool.ForN(ctx, parts, 1, parts, s.run)
	}
	if rows > 1 {
		return product(true)
	}
	// Decoding: with or without software prefetch, as this CPU reads this
	// matrix faster (tune.Prefetch).
	return m.pf[tune.Class(parts)].Run(m.Groups*tileGroup, product)
}

// ggmlScratch holds the per-call state and buffers of GGML.MatMul.
type ggmlScratch struct {
	m     *GGML
	y     []float32
	rows  int
	v     ggmlVariant
	acts  ggmlActs
	piece int
	next  atomic.Int64
	run   func(lo, hi int)
	// shared: a one-row product on several threads, whose participants
	// share the work through share (participate's range is then pieces).
	shared bool
	share  rowShare
	// prefetch: the one-row kernels prefetch the weights.
	prefetch bool
}

var ggmlScratchPool = sync.Pool{New: func() any {
	s := new(ggmlScratch)
	s.run = s.participate
	return s
}}

// participate computes pieces of groups until none is left; in a shared
// one-row product, it runs the shares of participants [lo, hi).
func (s *ggmlScratch) participate(lo, hi int) {
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
func (s *ggmlScratch) compute(lo, hi int) {
	if ng := s.v.groups; s.rows == 1 && ng > 1 {
		// One row: the piece's full groups as ng runs walked side by side
		// in one call, so that the tiles stream from ng places at once;
		// what is left over goes one group at a time below.
		if run := max(0, min(hi, s.m.N/GroupCols)-lo) / ng; run > 0 {
			s.cols(lo, run, 0, run)
			lo += ng * run
		}
	}
	s.groups(lo, hi)
}

// cols multiplies the one row by columns [c0, c1) of the runs of run
// groups that start at group lo (column c: group lo + i·run + c of each
// run i < the variant's groups), with one call of the one-row kernel
// where the variant has one for the type, else group by group.
func (s *ggmlScratch) cols(lo, run, c0, c1 int) {
	m, f := s.m, s.m.f
	ng := max(1, s.v.groups)
	if ng > 1 {
		nsb, tb := m.K/f.sb, f.tileBytes()
		p := gargs{lda: m.K, ldaux: f.auxBytes(), nsb: nsb, lut: f.lutArg()}
		p.a = unsafe.Pointer(&s.acts.qa[0])
		p.aux = unsafe.Pointer(&s.acts.aux[0])
		p.ldo = 4 * GroupCols * run
		p.tile = &m.tiles[(lo+c0)*nsb*tb]
		p.out = &s.y[(lo+c0)*GroupCols]
		if ggmlCallGroups(s.v, f, &p, run*nsb*tb, c1-c0, s.prefetch) {
			return
		}
	}
	for i := range ng {
		g := lo + i*run
		s.groups(g+c0, g+c1)
	}
}

// wideBufs holds the buffers of expanded grid tiles (ggmlScratch.groups).
var wideBufs = sync.Pool{New: func() any { return new([]uint8) }}

// gexpand are the arguments of a grid expansion kernel (expandGrid); the
// assembly reads the fields at fixed offsets.
type gexpand struct {
	dst, src *uint8 // 0, 8
	n        int    // 16: tiles
	tab      *uint8 // 24: the grid's kernel table
}

// expandGrid writes the wide tiles of grid format f's n tiles at src to
// dst, with v's kernel where it has one.
func expandGrid(v ggmlVariant, f *format, dst, src []uint8, n int) {
	if v.id != idGeneric && n > 0 && len(dst) >= n*f.grid.wide.tileBytes() && len(src) >= n*f.tileBytes() {
		p := gexpand{dst: &dst[0], src: &src[0], n: n, tab: f.lutArg()}
		if v.id == idAVX512 && ggmlExpandAVX512(f, &p) || ggmlExpandAVX2(f, &p) {
			return
		}
	}
	expandGridGeneric(f, dst, src, n)
}

// groups runs the kernels for groups [lo, hi) one group at a time, all
// rows. A grid format's tiles, where several row tiles read them, are
// first expanded into its wide format's (gridTable.wide).
func (s *ggmlScratch) groups(lo, hi int) {
	m, f := s.m, s.m.f
	nsb := m.K / f.sb
	if f.grid == nil || s.rows <= ggmlRowTile || hi <= lo {
		s.groupsOf(f, m.tiles[lo*nsb*f.tileBytes():], lo, hi)
		return
	}
	w := f.grid.wide
	bp := wideBufs.Get().(*[]uint8)
	need := (hi - lo) * nsb * w.tileBytes()
	if cap(*bp) < need {
		*bp = make([]uint8, need)
	}
	buf := (*bp)[:need]
	expandGrid(s.v, f, buf, m.tiles[lo*nsb*f.tileBytes():hi*nsb*f.tileBytes()], (hi-lo)*nsb)
	s.groupsOf(w, buf, lo, hi)
	wideBufs.Put(bp)
}

// groupsOf runs the kernels of format f (the matrix's, or its wide
// format) for groups [lo, hi), whose tiles start at tiles.
func (s *ggmlScratch) groupsOf(f *format, tiles []uint8, lo, hi int) {
	m := s.m
	N := m.N
	nsb := m.K / f.sb
	tb := f.tileBytes()
	var tmp [ggmlRowTile * GroupCols]float32
	p := gargs{lda: m.K, ldaux: s.rows * f.auxBytes(), nsb: nsb, lut: f.lutArg()}
	for r0 := 0; r0 < s.rows; r0 += ggmlRowTile {
		mr := min(ggmlRowTile, s.rows-r0)
		p.a = unsafe.Pointer(&s.acts.qa[r0*m.K])
		p.aux = unsafe.Pointer(&s.acts.aux[r0*f.auxBytes()])
		for g := lo; g < hi; g++ {
			p.tile = &tiles[(g-lo)*nsb*tb]
			c0 := g * GroupCols
			full := c0+GroupCols <= N
			if full {
				p.out, p.ldo = &s.y[r0*N+c0], 4*N
			} else {
				p.out, p.ldo = &tmp[0], 4*GroupCols
			}
			s.v.call(f, &p, mr)
			if !full {
				nc := N - c0
				for r := 0; r < mr; r++ {
					copy(s.y[(r0+r)*N+c0:(r0+r)*N+c0+nc], tmp[r*GroupCols:])
				}
			}
		}
	}
}

// ggmlVariant is one implementation of the super-block kernels.
type ggmlVariant struct {
	name string
	id   int
	// groups > 1: at one row, the variant multiplies that many groups per
	// kernel call, taken from as many runs of a piece (ggmlCallGroups).
	groups int
}

var ggmlGeneric = ggmlVariant{name: "generic", id: idGeneric}

// ggmlFallbacks counts the calls in which an assembly variant had no
// kernel for the format and ran the generic one (the slow path, where an
// atomic add costs nothing): TestGGMLBestHasKernel checks that the variant
// MatMul uses never does.
var ggmlFallbacks atomic.Int64

// call runs v's kernel for f and mr rows, or the generic one where v has
// none (counted in ggmlFallbacks).
func (v ggmlVariant) call(f *format, p *gargs, mr int) {
	switch {
	case v.id == idAVX512 && ggmlCallAVX512(f, p, mr):
	case v.id == idAVXVNNI && ggmlCallVNNI(f, p, mr):
	case (v.id == idAVX2 || v.id == idAVX512 || v.id == idAVXVNNI) && ggmlCallAVX2(f, p, mr):
	case (v.id == idNEON || v.id == idNEONDot) && ggmlCallNEON(f, p, mr, v.id == idNEONDot):
	default:
		if v.id != idGeneric {
			ggmlFallbacks.Add(1)
		}
		ggmlKernelGeneric(f, p, mr)
	}
}
