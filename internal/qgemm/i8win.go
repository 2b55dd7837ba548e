package qgemm

import (
	"fmt"
	"unsafe"
)

// i8wargs are the arguments of one windowed int8 kernel call: i8args with
// each row of A read as segs runs of 4·quads bytes, skip bytes apart
// after each run (run s of row r starts at a + r·lda + s·(4·quads+skip)).
// The assembly reads the fields at fixed offsets: keep the order and the
// 8-byte size of each.
type i8wargs struct {
	a     *uint8 // 0
	lda   int    // 8
	b     *int8  // 16
	ps    int    // 24
	quads int    // 32: quads per run, ≥ 1
	c     *int32 // 40
	ldc   int    // 48
	segs  int    // 56: runs per row, ≥ 1
	skip  int    // 64: bytes from the end of one run to the start of the next
}

// i8WinKernelGeneric is the specification of every windowed int8 kernel:
// i8KernelGeneric with quad q of row r of A read from run q/quads at
// offset 4·(q mod quads) of that run (stored, not accumulated).
func i8WinKernelGeneric(p *i8wargs, mr, np int) {
	step := 4*p.quads + p.skip
	for r := 0; r < mr; r++ {
		c := unsafe.Slice((*int32)(unsafe.Add(unsafe.Pointer(p.c), r*p.ldc)), np*i8PanelCols)
		for j := 0; j < np; j++ {
			b := unsafe.Slice((*int8)(unsafe.Add(unsafe.Pointer(p.b), j*p.ps)), 64*p.quads*p.segs)
			var acc [i8PanelCols]int32
			for s := 0; s < p.segs; s++ {
				a := unsafe.Slice((*uint8)(unsafe.Add(unsafe.Pointer(p.a), r*p.lda+s*step)), 4*p.quads)
				for q := 0; q < p.quads; q++ {
					a4 := a[4*q : 4*q+4 : 4*q+4]
					bq := b[64*(s*p.quads+q):]
					for col := range acc {
						bc := bq[4*col : 4*col+4 : 4*col+4]
						acc[col] += int32(a4[0])*int32(bc[0]) + int32(a4[1])*int32(bc[1]) + int32(a4[2])*int32(bc[2]) + int32(a4[3])*int32(bc[3])
					}
				}
			}
			copy(c[16*j:], acc[:])
		}
	}
}

// i8WinVariant is one implementation of the windowed int8 kernels.
type i8WinVariant struct {
	name string
	call func(p *i8wargs, mr, np int)
}

var i8WinGeneric = i8WinVariant{name: "generic", call: i8WinKernelGeneric}

// i8WinBest is the variant MulU8Win uses: the last of i8WinVariants.
var i8WinBest = i8WinVariants[len(i8WinVariants)-1]

// Win is a block of rows of A for MulU8Win, read in place from a larger
// array: row i < Rows of the block is the Segs runs
// A[i·Lda + s·Stride : i·Lda + s·Stride + K/Segs] for s < Segs, one after
// the other (a convolution's rows of an NHWC image: Lda the stride between
// output positions, Stride the distance between kernel rows, one run per
// kernel row; or Segs 1 for an ordinary matrix). Its products go to rows
// Row ≤ r < Row+Rows of c.
type Win struct {
	A                 []uint8
	Lda, Rows         int
	Segs, Stride, Row int
}

// MulU8Win is MulU8 on the calling goroutine for the rows of A given as
// blocks: c[(w.Row+i)·ldc + j] = Σ_k (row i of w)[k]·B[k][j] for every
// block w. The blocks share each tile of B while it is in cache (the
// loop over tiles of columns is the outer one). K/Segs must be a whole
// multiple of 4 (pack B with each kernel row padded by zero weights) and
// Stride ≥ K/Segs. It panics if a block does not satisfy this or its A or
// c is too short.
func (m *I8) MulU8Win(c []int32, ldc int, ws []Win) {
	m.mulU8Win(c, ldc, ws, i8WinBest)
}

func (m *I8) mulU8Win(c []int32, ldc int, ws []Win, v i8WinVariant) {
	if m.n == 0 {
		return
	}
	for _, w := range ws {
		if w.Rows == 0 {
			continue
		}
		run := 0
		if w.Segs > 0 {
			run = m.k / w.Segs
		}
		if w.Segs < 1 || m.k == 0 || run*w.Segs != m.k || run%4 != 0 || w.Stride < run || w.Lda < 0 || w.Row < 0 || w.Rows < 0 ||
			len(w.A) < (w.Rows-1)*w.Lda+(w.Segs-1)*w.Stride+run || len(c) < (w.Row+w.Rows-1)*ldc+m.n || ldc < m.n {
			panic(fmt.Sprintf("qgemm: MulU8Win with K %d, N %d, rows %d..%d, %d runs %d apart: len(A) %d, Lda %d, len(c) %d, ldc %d",
				m.k, m.n, w.Row, w.Row+w.Rows, w.Segs, w.Stride, len(w.A), w.Lda, len(c), ldc))
		}
	}
	ps := m.quads * 64
	var tmp *[i8MR * i8NP * i8PanelCols]int32
	args := new(i8wargs)
	for p0 := 0; p0 < m.panels; p0 += i8NP {
		np := min(i8NP, m.panels-p0)
		col0 := p0 * i8PanelCols
		ncols := min(np*i8PanelCols, m.n-col0)
		full := ncols == np*i8PanelCols
		for _, w := range ws {
			run := m.k / w.Segs
			for r0 := 0; r0 < w.Rows; r0 += i8MR {
				mr := min(i8MR, w.Rows-r0)
				*args = i8wargs{a: &w.A[r0*w.Lda], lda: w.Lda, b: &m.data[p0*ps], ps: ps, quads: run / 4, segs: w.Segs, skip: w.Stride - run}
				cr := w.Row + r0
				if full {
					args.c, args.ldc = &c[cr*ldc+col0], 4*ldc
					v.call(args, mr, np)
					continue
				}
				if tmp == nil {
					tmp = new([i8MR * i8NP * i8PanelCols]int32)
				}
				args.c, args.ldc = &tmp[0], 4*i8NP*i8PanelCols
				v.call(args, mr, np)
				for r := 0; r < mr; r++ {
					copy(c[(cr+r)*ldc+col0:(cr+r)*ldc+col0+ncols], tmp[r*i8NP*i8PanelCols:])
				}
			}
		}
	}
}
