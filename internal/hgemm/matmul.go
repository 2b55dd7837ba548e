package hgemm

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

// MatMul computes y[r][n] = Σ_k x16[r][k]·W[n][k] for r < rows and n < N,
// where x is rows×K and y rows×N, both row-major, and x16 is x rounded to
// the format of W (nearest even; NaN stays NaN, overflow becomes ±Inf), as
// llama.cpp's CPU backend rounds activations before ggml_vec_dot_f16 and
// ggml_vec_dot_bf16. Products are summed in float32, in an unspecified
// order. W is read in place; the rounded activations go to a scratch buffer
// reused across calls (O(rows·K) memory).
//
// threads bounds the number of goroutines of the process-wide worker pool
// that share the work; 0 (or more than the pool has) uses all of them. The
// error wraps ErrShape when rows < 0, len(x) < rows·K or len(y) < rows·N,
// or is ctx.Err().
func (m *Matrix) MatMul(ctx context.Context, y, x []float32, rows, threads int) error {
	return m.matmul(ctx, y, x, rows, threads, &best)
}

func (m *Matrix) matmul(ctx context.Context, y, x []float32, rows, threads int, v *variant) error {
	if rows < 0 || len(x)/m.k < rows || len(y)/m.n < rows {
		return fmt.Errorf("hgemm: MatMul rows=%d K=%d N=%d: len(x)=%d len(y)=%d: %w",
			rows, m.k, m.n, len(x), len(y), ErrShape)
	}
	if rows == 0 {
		return ctx.Err()
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	s := scratchPool.Get().(*scratch)
	defer func() {
		s.m, s.y, s.x, s.v = nil, nil, nil, nil
		scratchPool.Put(s)
	}()
	s.m, s.y, s.rows, s.v = m, y, rows, v
	K := m.k
	kp := (K + tailStride - 1) &^ (tailStride - 1) // rows padded with zeros
	elem := 4
	s.bf16x = v.bf16x && m.format == BF16
	if s.bf16x {
		elem = 2
		s.x16 = grow(s.x16, rows*kp)
	} else {
		s.x32 = grow(s.x32, rows*kp)
	}
	s.x, s.kp = x, kp
	parts := threads
	if parts <= 0 || parts > workerpool.Workers() {
		parts = workerpool.Workers()
	}
	// Rounding costs about as much as reading the activations: split it
	// over the pool from 64 Ki values.
	if err := workerpool.ForN(ctx, rows, (1<<16+K-1)/K, parts, s.roundRows); err != nil {
		return err
	}
	s.ldx = kp * elem
	// Cache blocking: with several row tiles, K is cut into blocks of kc
	// columns so that a panel of v.mr activation rows (≤ rowPanelBytes
	// each) stays in L1 while a piece of weight tiles, kept in L2, passes
	// over it.
	// The blocks are of equal size (to a multiple of tailStride): a short
	// last block would cost the kernels' horizontal sums for little work.
	// K up to a quarter over the bound stays one block (a 1152-wide
	// Gemma 3 1b row: 27 KiB of float32 activations for 6 rows, in a 48 KiB
	// L1): two blocks would cost more in sums than they save in L1 misses.
	s.kc = kp
	if rows > v.mr {
		most := min(kp, max(minKC, rowPanelBytes/elem)&^(tailStride-1))
		blocks := (kp + most - 1) / most
		if 4*kp <= 5*most {
			blocks = 1
		}
		s.kc = ((kp+blocks-1)/blocks + tailStride - 1) &^ (tailStride - 1)
	}
	// Participants take pieces of 4-row tiles (about 8 per participant,
	// each at least 64 Ki multiply-adds) from a shared counter, so that a
	// thread the OS preempts or wakes late holds up only a small piece.
	s.tiles = m.tiles
	minPiece := (1<<16 + rows*K*nr - 1) / (rows * K * nr)
	s.piece = min(max(minPiece, s.tiles/(8*parts)), (s.tiles+parts-1)/parts)
	if rows > v.mr {
		// Every row tile reads the piece's weights: keep them in L2, and
		// otherwise make pieces large (each piece reads all activations
		// again), in a number of pieces that is a multiple of parts, at
		// least minPieces per participant when parts > 1 (so that one
		// that starts late leaves pieces to the others), and no more
		// than one per tile.
		most := max(1, pieceBytes/(nr*2*s.kc))
		per := (s.tiles + parts*most - 1) / (parts * most)
		if parts > 1 {
			per = max(per, minPieces)
		}
		n := min(s.tiles, parts*per)
		s.piece = (s.tiles + n - 1) / n
	}
	s.next.Store(0)
	for len(s.sums) < parts {
		s.sums = append(s.sums, nil)
	}
	// With or without software prefetch, as this CPU runs this matrix's
	// products faster (tune.Prefetch; decoding and prompts apart, by
	// weight bytes times rows).
	// Not with several K blocks: there the kernels' prefetches run past
	// the end of each block's weights, into lines the call does not read
	// (and that the next block reads only after every row tile has passed),
	// evicting the activation panel: 512 × 14336 × 4096 ran 1.13–1.25×
	// faster without on AVX-512 and 1.06–1.12× on AVX2 (both formats, one
	// and two threads), where the timed choice sometimes kept prefetch.
	run := func(prefetch bool) error {
		s.prefetch = prefetch
		if parts == 1 || s.tiles <= s.piece {
			s.participate(0, 0)
			return ctx.Err()
		}
		return workerpool.ForN(ctx, parts, 1, parts, s.run)
	}
	if rows > 1 && s.kc < kp {
		return run(false)
	}
	class := tune.Class(parts)
	if rows > 1 {
		class += 2
	}
	return m.pf[class].Run(2*m.n*m.k*rows, run)
}

// rowPanelBytes bounds the rounded activations of one row in a K block: a
// row tile's panel (v.mr rows, 24 KiB for the 6-row kernels, 12 KiB for
// the 3-row AVX2 ones) stays in a 32 KiB L1 data cache while the weight
// tiles of a piece pass from L2. The bound is per row, not per panel: the
// 3-row AVX2 kernels ran 512 × 14336 × 4096 (F16, one and two threads)
// 1.03–1.05× faster with 1024-column blocks than with 2048 (a 24 KiB
// panel), and equal on the Gemma 3 prompt shapes, on the 2-vCPU EPYC of
// docs/PERFORMANCE.md, where the 6-row AVX-512 kernels are slower with
// 512 columns. A variable only so that tests can force several blocks.
var rowPanelBytes = 4 << 10

// minKC is the fewest columns of a K block (below, the horizontal sums at
// the end of each kernel call would cost more than the block; a variable
// only for tests).
var minKC = 256

// pieceBytes bounds the weight bytes of a piece of tiles in a K block when
// several row tiles read it: half of this CPU's L2, the rest left to the
// activations passing through. Each piece reads all the activations again
// (from L3), so pieces are as large as L2 allows: on the 2-vCPU EPYC of
// docs/PERFORMANCE.md (1 MiB L2), 512×14336 × 4096×14336 at two threads
// ran 179–187 GFLOP/s with 512 KiB pieces against 172–181 with 256 KiB on
// the AVX2 kernels (F16), and 346–360 against 328–345 on the AVX-512 ones.
var pieceBytes = cpucache.L2() / 2

// minPieces is the fewest pieces per participant of a several-row product
// on several threads.
const minPieces = 2

// scratch holds the per-call state and reusable buffers of MatMul.
type scratch struct {
	m     *Matrix
	v     *variant
	y     []float32
	x     []float32 // the activations
	kp    int       // K rounded up to a multiple of tailStride
	x32   []float32 // rounded activations, rows × kp
	x16   []uint16  // or their bfloat16 bits (bf16x)
	bf16x bool
	// prefetch: the one-row kernels prefetch the weight rows.
	prefetch bool
	rows     int
	ldx      int              // bytes between rows of x32 or x16
	kc       int              // columns of a K block
	tiles    int              // 4-row weight tiles
	piece    int              // tiles per piece of work
	next     atomic.Int64     // next tile to take
	run      func(lo, hi int) // s.participate, bound once
	// roundRows is s.round, bound once.
	roundRows func(lo, hi int)
	// sums[i] is participant i's buffer for the sums of full tiles of a
	// one-row-tile product (computePart), kept across calls.
	sums [][]float32
}

var scratchPool = sync.Pool{New: func() any {
	s := new(scratch)
	s.run = s.participate
	s.roundRows = s.round
	return s
}}

// round writes rows [lo, hi) of the rounded activations, zero padded to kp
// columns.
func (s *scratch) round(lo, hi int) {
	K, kp := s.m.k, s.kp
	for r := lo; r < hi; r++ {
		if s.bf16x {
			packBF16(s.x16[r*kp:r*kp+K], s.x[r*K:(r+1)*K])
			clear(s.x16[r*kp+K : (r+1)*kp])
		} else {
			round(s.m.format, s.x32[r*kp:r*kp+K], s.x[r*K:(r+1)*K])
			clear(s.x32[r*kp+K : (r+1)*kp])
		}
	}
}

func grow[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}

// participate computes pieces of tiles until none is left; id < parts
// (the pool's chunk index) picks its buffer of sums.
func (s *scratch) participate(id, _ int) {
	sums := s.sums[id]
	for {
		lo := int(s.next.Add(int64(s.piece))) - s.piece
		if lo >= s.tiles {
			break
		}
		sums = s.compute(lo, min(lo+s.piece, s.tiles), sums)
	}
	s.sums[id] = sums
}

// compute runs the kernels for tiles [lo, hi) of the Matrix, all rows,
// part by part. sums is the caller's buffer for the full tiles' sums (see
// computePart); compute returns it, grown if it had to be.
func (s *scratch) compute(lo, hi int, sums []float32) []float32 {
	for i := range s.m.parts {
		p := &s.m.parts[i]
		plo, phi := max(lo, p.tile0), min(hi, p.tile0+(p.n+nr-1)/nr)
		if plo < phi {
			sums = s.computePart(p, plo-p.tile0, phi-p.tile0, sums)
		}
	}
	return sums
}

// computePart runs the kernels for tiles [lo, hi) of part pt (its rows
// [4lo, 4hi), outputs pt.row0 + [4lo, 4hi)), all rows.
func (s *scratch) computePart(pt *part, lo, hi int, sums []float32) []float32 {
	m, v := s.m, s.v
	N, K := pt.n, m.k
	ldy, y := m.n, s.y[pt.row0:] // y[r·ldy + n] is output n of the part for row r
	data := pt.data
	f := m.format
	kb := v.kb[f]
	xbase := unsafe.Pointer(unsafe.SliceData(s.x32))
	elem := 4
	if s.bf16x {
		xbase, elem = unsafe.Pointer(unsafe.SliceData(s.x16)), 2
	}
	var (
		p    kargs
		tail [nr][tailStride]uint16
		tmp  [8 * nr]float32 // outputs of a partial tile (v.mr ≤ 8)
	)
	// With one row tile (decoding), the full tiles take their 4 rows from
	// 4 runs of consecutive rows (rows nr·lo + j·full + c of run j), so
	// that the kernels read (and prefetch along) 4 sequential streams.
	// Their sums go to sums, row r at r·nr·full, tile c's 4 outputs at
	// nr·c, added up there over the K blocks by the kernels and written to
	// y once at the end. With several row tiles (prompts), whose weights
	// come from L2 after the first, tile c is rows nr·(lo+c) to
	// nr·(lo+c)+3 and its sums go straight to y: permuting them from sums
	// took 5 % of a 270m F16 prompt at one thread.
	runs := s.rows <= v.mr
	full := max(0, min(hi, N/nr)-lo)
	// Row j of full tile lo+c (also its output feature) is
	// nr·lo + j·js + c·cs.
	js, cs := 1, nr
	if runs {
		js, cs = full, 1
	}
	if runs && full > 0 {
		sums = grow(sums, s.rows*nr*full)
	}
	inSums := false // sums holds partial sums not yet in y
	p.ldx = s.ldx
	for k0 := 0; k0 < K; k0 += s.kc {
		kn := min(s.kc, K-k0)
		p.steps = kn / kb
		rem := kn - p.steps*kb // only in the last block: kc is a multiple of every kb
		p.tail = nil
		if rem > 0 {
			p.tail = &tail[0][0]
		}
		accum := 0
		if k0 > 0 {
			accum = 1
		}
		t0 := lo + full // first tile of the one-tile calls
		if rem > 0 {
			// The tail block goes tile by tile: add it to y directly.
			if inSums {
				s.flush(y, sums, lo, full)
				inSums = false
			}
			t0 = lo
		}
		for r := 0; r < s.rows; r += v.mr {
			mr := min(v.mr, s.rows-r)
			p.x = unsafe.Add(xbase, r*s.ldx+k0*elem)
			if rem == 0 && full > 0 {
				for j := range nr {
					p.w[j] = unsafe.Pointer(&data[2*((nr*lo+j*js)*K+k0)])
				}
				p.tiles, p.tileBytes, p.accum = full, 2*K*cs, accum
				p.y, p.ldy = &y[r*ldy+nr*lo], 4*ldy
				if runs {
					p.y, p.ldy = &sums[r*nr*full], 4*nr*full
					inSums = true
				}
				v.callPF(&p, f, mr, s.prefetch)
			}
			for t := t0; t < hi; t++ {
				n0 := nr * t
				nn := min(nr, N-n0)
				for j := range nr {
					// A partial tile repeats its last row (the extra sums are dropped).
					row := n0 + min(j, nn-1)
					if t < lo+full {
						row = nr*lo + j*js + (t-lo)*cs // a full tile: its rows as above
					}
					p.w[j] = unsafe.Pointer(&data[2*(row*K+k0)])
					if rem > 0 {
						off := 2 * (row*K + k0 + p.steps*kb)
						for k := range rem {
							tail[j][k] = uint16(data[off+2*k]) | uint16(data[off+2*k+1])<<8
						}
						clear(tail[j][rem:kb])
					}
				}
				p.tiles = 1
				p.y, p.ldy, p.accum = &tmp[0], 4*nr, 0
				if nn == nr && (t >= lo+full || !runs) {
					p.y, p.ldy, p.accum = &y[r*ldy+n0], 4*ldy, accum
					v.call(&p, f, mr)
					continue
				}
				v.call(&p, f, mr)
				for i := range mr {
					for j := range nn {
						n := n0 + j
						if t < lo+full {
							n = nr*lo + j*js + (t-lo)*cs
						}
						if accum != 0 {
							y[(r+i)*ldy+n] += tmp[i*nr+j]
						} else {
							y[(r+i)*ldy+n] = tmp[i*nr+j]
						}
					}
				}
			}
		}
	}
	if inSums {
		s.flush(y, sums, lo, full)
	}
	return sums
}

// flush stores the full tiles' sums of computePart in y (a part's
// outputs, rows N of the Matrix apart): output nr·lo + j·full + c of row r
// is sums[r·nr·full + nr·c + j].
func (s *scratch) flush(y, sums []float32, lo, full int) {
	N := s.m.n
	for r := range s.rows {
		src := sums[r*nr*full : (r+1)*nr*full]
		dst := y[r*N+nr*lo : r*N+nr*(lo+full)]
		// One pass over the sums, into the 4 runs at once.
		d0, d1, d2, d3 := dst[:full], dst[full:2*full], dst[2*full:3*full], dst[3*full:4*full]
		for c := range d0 {
			v := (*[nr]float32)(src[nr*c : nr*c+nr])
			d0[c], d1[c], d2[c], d3[c] = v[0], v[1], v[2], v[3]
		}
	}
}
