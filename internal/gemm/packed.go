package gemm

import (
	"context"
	"fmt"

	"github.com/zerfoo/zerfoo/internal/workerpool"
)

// PackedA is a matrix A (m×k) packed once into the micro-kernel's layout,
// for products A·B with many B: a convolution's weights. Its K blocks
// (KC steps each) follow one another; within block q (steps q·KC up to
// kq = min(KC, k−q·KC)), MR-row micro-panel i holds kq steps of MR values,
// rows past m zero.
//
// B operands of MulPacked are packed the same way by the caller (see
// PackedB): K block q of n columns starts at q·KC·⌈n/NR⌉·NR and holds
// ⌈n/NR⌉ micro-panels of kq steps of NR values; element (p, j) of block q
// is at q·KC·nPad + (j/NR)·kq·NR + (p−q·KC)·NR + j%NR.
type PackedA struct {
	v    *variant
	m, k int
	data []float32
}

// PackA packs the m×k row-major matrix a (leading dimension lda) for the
// micro-kernel Sgemm uses. It returns an error for negative sizes or a
// slice too short.
func PackA(a []float32, lda, m, k int) (*PackedA, error) {
	return packAWith(best, a, lda, m, k)
}

func packAWith(v *variant, a []float32, lda, m, k int) (*PackedA, error) {
	if m < 0 || k < 0 {
		return nil, fmt.Errorf("gemm: negative size m=%d k=%d", m, k)
	}
	if err := checkMat("a", m, k, a, lda); err != nil {
		return nil, err
	}
	mr := v.mr
	mp := ceilDiv(m, mr)
	p := &PackedA{v: v, m: m, k: k, data: make([]float32, mp*mr*k)}
	for pc := 0; pc < k; pc += v.kc {
		kc := min(v.kc, k-pc)
		blk := p.data[pc*mp*mr:]
		for ip := range mp {
			r0 := ip * mr
			packA(blk[ip*kc*mr:(ip+1)*kc*mr], a, lda, false, r0, min(mr, m-r0), pc, kc, 1, mr)
		}
	}
	return p, nil
}

// Rows and Depth return m and k.
func (p *PackedA) Rows() int  { return p.m }
func (p *PackedA) Depth() int { return p.k }

// Bytes is the packed matrix's size.
func (p *PackedA) Bytes() int64 { return 4 * int64(len(p.data)) }

// PackedB describes the layout MulPacked expects of B: NR columns per
// micro-panel, KC steps per K block.
func (p *PackedA) PackedB() (nr, kc int) { return p.v.nr, p.v.kc }

// PackedBLen is the number of values a packed B of n columns takes.
func (p *PackedA) PackedBLen(n int) int { return ceilDiv(n, p.v.nr) * p.v.nr * p.k }

// Finish is called on each part of C a product has completed: rows
// r0 ≤ r < r1, columns j0 ≤ j < j1, while they are still in cache (an
// epilogue such as a bias and an activation). Calls for disjoint parts may
// run concurrently.
type Finish func(r0, r1, j0, j1 int)

// MulB computes C = A·B for a row-major k×n matrix b (leading dimension
// ldb) into c (m×n, leading dimension ldc; overwritten), packing B's panels
// as Sgemm does, and calls fin (unless nil) on every part of C once done.
func (p *PackedA) MulB(ctx context.Context, b []float32, ldb, n int, c []float32, ldc int, fin Finish) error {
	if err := checkMat("b", p.k, n, b, ldb); err != nil {
		return err
	}
	return p.mul(ctx, n, c, ldc, func(dst []float32, pc, kc, jp int) {
		j0 := jp * p.v.nr
		packB(dst, b, ldb, false, pc, kc, j0, min(p.v.nr, n-j0), p.v.nr)
	}, nil, fin)
}

// MulPacked computes C = A·B for B packed as PackedA describes (n
// columns) into c (m×n, leading dimension ldc; overwritten), calling fin
// as MulB does.
func (p *PackedA) MulPacked(ctx context.Context, bp []float32, n int, c []float32, ldc int, fin Finish) error {
	if len(bp) < p.PackedBLen(n) {
		return fmt.Errorf("gemm: packed b has %d elements, need %d for %d columns", len(bp), p.PackedBLen(n), n)
	}
	return p.mul(ctx, n, c, ldc, nil, bp, fin)
}

// mul runs the product over K blocks; B's panels come from bp (packed)
// or are packed by pack into scratch.
func (p *PackedA) mul(ctx context.Context, n int, c []float32, ldc int, pack func(dst []float32, pc, kc, jp int), bp []float32, fin Finish) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	v, m, k := p.v, p.m, p.k
	if err := checkMat("c", m, n, c, ldc); err != nil {
		return err
	}
	if m == 0 || n == 0 {
		return nil
	}
	if k == 0 {
		scale(m, n, 0, c, ldc)
		if fin != nil {
			fin(0, m, 0, n)
		}
		return nil
	}
	mr, nr := v.mr, v.nr
	mp, np := ceilDiv(m, mr), ceilDiv(n, nr)
	workers := workerpool.Workers()
	if m*n*k < parallelWork {
		workers = 1
	}
	// Tasks: row blocks of up to 8 micro-panels (an A block that stays in
	// L2) × column panels, row block major, so that a worker's run of
	// tasks reuses its A block over consecutive B panels.
	const blockPanels = 8
	mb := ceilDiv(mp, blockPanels)
	var scratch []float32
	if pack != nil {
		buf := bPool.Get().(*[]float32)
		defer bPool.Put(buf)
		*buf = grow(*buf, min(v.kc, k)*np*nr)
		scratch = *buf
	}
	for pc := 0; pc < k; pc += v.kc {
		kc := min(v.kc, k-pc)
		first, last := pc == 0, pc+kc == k
		blkA := p.data[pc*mp*mr:]
		var blkB []float32
		if pack != nil {
			err := workerpool.ForN(ctx, np, 4, workers, func(lo, hi int) {
				for jp := lo; jp < hi; jp++ {
					pack(scratch[jp*kc*nr:(jp+1)*kc*nr], pc, kc, jp)
				}
			})
			if err != nil {
				return err
			}
			blkB = scratch
		} else {
			blkB = bp[pc*np*nr:]
		}
		err := workerpool.ForN(ctx, mb*np, 1, workers, func(lo, hi int) {
			w := workPool.Get().(*workBuf)
			defer workPool.Put(w)
			w.tile = grow(w.tile, mr*nr)
			for t := lo; t < hi; t++ {
				ib, jp := t/np, t%np
				j0 := jp * nr
				cols := min(nr, n-j0)
				bpanel := blkB[jp*kc*nr:]
				for ip := ib * blockPanels; ip < min(mp, (ib+1)*blockPanels); ip++ {
					r0 := ip * mr
					v.micro(kc, blkA[ip*kc*mr:], bpanel, c, r0, j0, min(mr, m-r0), cols, ldc, first, 0, w.tile)
				}
				if last && fin != nil {
					fin(ib*blockPanels*mr, min(m, (ib+1)*blockPanels*mr), j0, j0+cols)
				}
			}
		})
		if err != nil {
			return err
		}
	}
	return nil
}
