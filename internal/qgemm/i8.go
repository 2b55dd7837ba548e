package qgemm

import (
	"context"
	"fmt"
	"unsafe"

	"github.com/zerfoo/zerfoo/internal/simd"
	"github.com/zerfoo/zerfoo/internal/workerpool"
)

// I8 is a K×N matrix of int8 values packed for exact integer products with
// rows of uint8 values (ONNX MatMulInteger, QLinearMatMul and their
// com.microsoft relatives): C[i][j] = Σ_k a[i][k]·B[k][j] in int32.
//
// Layout: the N columns are cut into panels of 16 (the last one padded with
// zero columns) and K is padded with zeros to a multiple of 4. Panel p holds
// K/4 "quads" of 64 bytes; byte 4c+t of quad q is B[4q+t][16p+c], so one
// VPDPBUSD multiplies 4 consecutive k of a broadcast row of A into all 16
// columns. An I8 is read-only after PackI8 and safe for concurrent use.
type I8 struct {
	k, n   int
	quads  int    // ⌈K/4⌉
	panels int    // ⌈N/16⌉
	data   []int8 // [panels][quads][64]
	colSum []int32
}

// i8PanelCols is the width of one panel.
const i8PanelCols = 16

// PackI8 packs the K×N matrix whose element (k, j) is at(k, j). It panics
// if k or n is negative (a programmer error; callers check shapes).
func PackI8(k, n int, at func(k, j int) int8) *I8 {
	if k < 0 || n < 0 {
		panic(fmt.Sprintf("qgemm: PackI8(%d, %d)", k, n))
	}
	m := &I8{k: k, n: n, quads: (k + 3) / 4, panels: (n + i8PanelCols - 1) / i8PanelCols}
	m.data = make([]int8, m.panels*m.quads*64)
	m.colSum = make([]int32, n)
	for j := 0; j < n; j++ {
		p, c := j/i8PanelCols, j%i8PanelCols
		base := p * m.quads * 64
		var s int32
		for kk := 0; kk < k; kk++ {
			v := at(kk, j)
			m.data[base+kk/4*64+4*c+kk%4] = v
			s += int32(v)
		}
		m.colSum[j] = s
	}
	return m
}

// K returns the number of rows of the matrix.
func (m *I8) K() int { return m.k }

// N returns the number of columns of the matrix.
func (m *I8) N() int { return m.n }

// ColSums returns Σ_k B[k][j] for every column j (the slice is shared and
// must not be modified): with it a caller applies zero points,
// Σ(a−za)(b−zb) = Σab − zb·Σa − za·Σb + K·za·zb.
func (m *I8) ColSums() []int32 { return m.colSum }

// Footprint returns the bytes of packed data.
func (m *I8) Footprint() int { return len(m.data) + 4*len(m.colSum) }

// i8args are the arguments of one int8 kernel call: rows [0, mr) of A
// against np consecutive panels over all quads. The assembly reads the
// fields at fixed offsets: keep the order and the 8-byte size of each.
type i8args struct {
	a     *uint8 // 0: row 0 of A at k = 0 (rows readable up to 4·quads bytes)
	lda   int    // 8: bytes between rows of A
	b     *int8  // 16: quad 0 of the first panel
	ps    int    // 24: bytes between panels
	quads int    // 32: ≥ 1
	c     *int32 // 40: row 0, column 0 of the output
	ldc   int    // 48: bytes between rows of c
}

// i8MR and i8NP are the largest kernel shape: rows of A and panels of B.
const (
	i8MR = 6
	i8NP = 4
)

// i8BlockBytes is about the most bytes of A one (row block, tile) pair of
// MulU8 walks: with a tile of B (4·16·K bytes) and the rows of C it writes
// it stays in a core's L2.
const i8BlockBytes = 256 << 10

// i8RowBlock returns the rows of A (lda bytes apart) in one row block of
// MulU8: all rows when they take at most i8BlockBytes, else the rows cut
// into as few near-equal blocks (whole kernel calls of i8MR rows but the
// last) as keep each within about i8BlockBytes.
func i8RowBlock(rows, lda int) int {
	if rows*lda <= i8BlockBytes {
		return rows
	}
	nb := (rows*lda + i8BlockBytes - 1) / i8BlockBytes
	return ((rows+nb-1)/nb + i8MR - 1) / i8MR * i8MR
}

// i8KernelGeneric is the specification of every int8 kernel: for r < mr and
// the 16·np columns of the panels,
//
//	c[r][16j+col] = Σ_q Σ_t a[r][4q+t] · b[j·ps + 64q + 4col + t]
//
// (stored, not accumulated).
func i8KernelGeneric(p *i8args, mr, np int) {
	for r := 0; r < mr; r++ {
		a := unsafe.Slice((*uint8)(unsafe.Add(unsafe.Pointer(p.a), r*p.lda)), 4*p.quads)
		c := unsafe.Slice((*int32)(unsafe.Add(unsafe.Pointer(p.c), r*p.ldc)), np*i8PanelCols)
		for j := 0; j < np; j++ {
			b := unsafe.Slice((*int8)(unsafe.Add(unsafe.Pointer(p.b), j*p.ps)), 64*p.quads)
			var acc [i8PanelCols]int32
			for q := 0; q < p.quads; q++ {
				a4 := a[4*q : 4*q+4 : 4*q+4]
				bq := b[64*q : 64*q+64 : 64*q+64]
				for col := range acc {
					bc := bq[4*col : 4*col+4 : 4*col+4]
					acc[col] += int32(a4[0])*int32(bc[0]) + int32(a4[1])*int32(bc[1]) + int32(a4[2])*int32(bc[2]) + int32(a4[3])*int32(bc[3])
				}
			}
			copy(c[16*j:], acc[:])
		}
	}
}

// i8Variant is one implementation of the int8 kernels.
type i8Variant struct {
	name string
	call func(p *i8args, mr, np int)
}

var i8Generic = i8Variant{name: "generic", call: i8KernelGeneric}

// i8Best is the variant MulU8 uses: the last (fastest) of i8Variants,
// chosen once at init.
var i8Best = i8Variants[len(i8Variants)-1]

// MulU8 sets c[i·ldc+j] = Σ_k a[i·lda+k]·B[k][j] for i < rows and j < N,
// in int32 (wrapping on overflow, as the hardware does; K·255·128 must stay
// below 2³¹ for exact results). Rows of a need K elements; ctx bounds the
// parallel loop over column panels. It panics if a or c is too short.
func (m *I8) MulU8(ctx context.Context, c []int32, ldc int, a []uint8, lda, rows int) error {
	return m.mulU8(ctx, c, ldc, a, lda, rows, nil, i8Best)
}

// MulU8Then is MulU8 that calls done(r0, r1, c0, c1) as soon as the block
// of rows [r0, r1) and columns [c0, c1) of c is computed, on the goroutine
// that computed it, so that a caller can finish the block (apply zero
// points, scale, requantize) while it is in cache. Blocks are disjoint and
// cover the output; done runs concurrently for different blocks.
func (m *I8) MulU8Then(ctx context.Context, c []int32, ldc int, a []uint8, lda, rows int, done func(r0, r1, c0, c1 int)) error {
	return m.mulU8(ctx, c, ldc, a, lda, rows, done, i8Best)
}

func (m *I8) mulU8(ctx context.Context, c []int32, ldc int, a []uint8, lda, rows int, done func(r0, r1, c0, c1 int), v i8Variant) error {
	if rows == 0 || m.n == 0 {
		return nil
	}
	if len(a) < (rows-1)*lda+m.k || len(c) < (rows-1)*ldc+m.n || ldc < m.n || lda < m.k {
		panic(fmt.Sprintf("qgemm: MulU8 with %d rows, K %d, N %d: len(a) %d, lda %d, len(c) %d, ldc %d", rows, m.k, m.n, len(a), lda, len(c), ldc))
	}
	if m.k == 0 {
		for i := 0; i < rows; i++ {
			clear(c[i*ldc : i*ldc+m.n])
		}
		if done != nil {
			done(0, rows, 0, m.n)
		}
		return nil
	}
	// The kernels read 4·quads bytes of each row: copy A into a padded
	// buffer when K is not a multiple of 4 or the rows are not spaced
	// for it.
	if m.k%4 != 0 {
		lp := 4 * m.quads
		pa := make([]uint8, rows*lp)
		for i := 0; i < rows; i++ {
			copy(pa[i*lp:i*lp+m.k], a[i*lda:i*lda+m.k])
		}
		a, lda = pa, lp
	}
	// Tiles: i8NP panels wide; each walks a block of rows, so a tile of B
	// stays in cache. With up to i8BlockBytes of A the block is all rows.
	// With more (a batch of sequences: 1024 rows of 768 or 3072 bytes) the
	// rows a tile walks, with the rows of C it writes, would not stay in a
	// core's L2 from one tile to the next, and every tile would read all
	// of A again from the shared cache, so the rows are cut into equal
	// blocks (whole kernel calls) of at most about i8BlockBytes of A and
	// the parallel loop runs over (row block, tile) pairs, row block major:
	// a thread's consecutive pairs reuse one block of A from its own cache,
	// the tiles of B (read by every thread) come from the shared one. (The
	// threshold was 4·i8BlockBytes: BERT-base at batch 8 took 0.96× the
	// time at two threads with this one, the same at one.)
	tiles := (m.panels + i8NP - 1) / i8NP
	ps := m.quads * 64
	rb := i8RowBlock(rows, lda)
	blocks := (rows + rb - 1) / rb
	work := rb * 4 * m.quads * i8NP * i8PanelCols // multiply-adds per (block, tile)
	grain := max(1, (1<<18)/max(1, work))
	return workerpool.For(ctx, blocks*tiles, grain, func(lo, hi int) {
		var tmp *[i8MR * i8NP * i8PanelCols]int32 // for a last, partial tile; allocated when one comes
		// one i8args for the chunk: the kernel call through v.call makes
		// it escape, and a fresh one per call would be an allocation per
		// i8MR rows
		args := new(i8args)
		for u := lo; u < hi; u++ {
			t, rb0 := u%tiles, u/tiles*rb
			p0 := t * i8NP
			np := min(i8NP, m.panels-p0)
			col0 := p0 * i8PanelCols
			ncols := min(np*i8PanelCols, m.n-col0)
			full := ncols == np*i8PanelCols
			for r0 := rb0; r0 < min(rows, rb0+rb); r0 += i8MR {
				mr := min(i8MR, rows-r0)
				*args = i8args{
					a:     &a[r0*lda],
					lda:   lda,
					b:     &m.data[p0*ps],
					ps:    ps,
					quads: m.quads,
				}
				if full {
					args.c, args.ldc = &c[r0*ldc+col0], 4*ldc
					// Fetch the next block's output lines for writing
					// while this block computes: a large output (a
					// batch's FFN activations, megabytes) is not in
					// cache, and the kernel's stores of each block would
					// otherwise wait for memory, which two threads share
					// (BERT-base's four products at 1024 rows: 21 → 19 ms
					// on one thread, 15 → 13 ms on two).
					if nr := r0 + i8MR; nr < min(rows, rb0+rb) {
						simd.PrefetchRows(unsafe.Pointer(&c[nr*ldc+col0]), 4*ldc, min(i8MR, rows-nr), (ncols+15)/16)
					}
					v.call(args, mr, np)
				} else {
					if tmp == nil {
						tmp = new([i8MR * i8NP * i8PanelCols]int32)
					}
					args.c, args.ldc = &tmp[0], 4*i8NP*i8PanelCols
					v.call(args, mr, np)
					for r := 0; r < mr; r++ {
						copy(c[(r0+r)*ldc+col0:(r0+r)*ldc+col0+ncols], tmp[r*i8NP*i8PanelCols:])
					}
				}
				if done != nil {
					done(r0, r0+mr, col0, col0+ncols)
				}
			}
		}
	})
}
