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

// MulU8Win is MulU8 on the calling goroutine for a matrix A whose rows are
// windows of a larger array, read in place: row i of A is the segs runs
// a[i·lda + s·stride : i·lda + s·stride + K/segs] for s < segs, one after
// the other (a convolution's rows of an NHWC image: lda the stride between
// output positions, stride the distance between kernel rows, one run per
// kernel row). K/segs must be a whole multiple of 4 (pack B with each
// kernel row padded by zero weights) and stride ≥ K/segs. It panics if the
// arguments do not satisfy this or a or c is too short.
func (m *I8) MulU8Win(c []int32, ldc int, a []uint8, lda, rows, segs, stride int) {
	m.mulU8Win(c, ldc, a, lda, rows, segs, stride, i8WinBest)
}

func (m *I8) mulU8Win(c []int32, ldc int, a []uint8, lda, rows, segs, stride int, v i8WinVariant) {
	if rows == 0 || m.n == 0 {
		return
	}
	run := 0
	if segs > 0 {
		run = m.k / segs
	}
	if segs < 1 || m.k == 0 || run*segs != m.k || run%4 != 0 || stride < run || lda < 0 ||
		len(a) < (rows-1)*lda+(segs-1)*stride+run || len(c) < (rows-1)*ldc+m.n || ldc < m.n {
		panic(fmt.Sprintf("qgemm: MulU8Win with %d rows, K %d, N %d, %d runs %d apart: len(a) %d, lda %d, len(c) %d, ldc %d",
			rows, m.k, m.n, segs, stride, len(a), lda, len(c), ldc))
	}
	ps := m.quads * 64
	var tmp *[i8MR * i8NP * i8PanelCols]int32
	args := new(i8wargs)
	for p0 := 0; p0 < m.panels; p0 += i8NP {
		np := min(i8NP, m.panels-p0)
		col0 := p0 * i8PanelCols
		ncols := min(np*i8PanelCols, m.n-col0)
		full := ncols == np*i8PanelCols
		for r0 := 0; r0 < rows; r0 += i8MR {
			mr := min(i8MR, rows-r0)
			*args = i8wargs{a: &a[r0*lda], lda: lda, b: &m.data[p0*ps], ps: ps, quads: run / 4, segs: segs, skip: stride - run}
			if full {
				args.c, args.ldc = &c[r0*ldc+col0], 4*ldc
				v.call(args, mr, np)
				continue
			}
			if tmp == nil {
				tmp = new([i8MR * i8NP * i8PanelCols]int32)
			}
			args.c, args.ldc = &tmp[0], 4*i8NP*i8PanelCols
			v.call(args, mr, np)
			for r := 0; r < mr; r++ {
				copy(c[(r0+r)*ldc+col0:(r0+r)*ldc+col0+ncols], tmp[r*i8NP*i8PanelCols:])
			}
		}
	}
}
