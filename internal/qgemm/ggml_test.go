package qgemm

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"unsafe"

	"github.com/zerfoo/zerfoo/gguf/quant"
	"github.com/zerfoo/zerfoo/numeric"
)

// ggmlTypes are the types of the super-block family, in test order.
var ggmlTypes = []quant.Type{quant.Q4_0, quant.Q8_0, quant.Q4_1, quant.Q5_0, quant.Q5_1, quant.IQ4_NL,
	quant.Q2_K, quant.Q3_K, quant.Q4_K, quant.Q5_K, quant.Q6_K, quant.IQ4_XS,
	quant.IQ3_S, quant.IQ3_XXS, quant.IQ2_XXS, quant.IQ2_XS, quant.IQ2_S,
	quant.IQ1_S, quant.IQ1_M, quant.TQ1_0, quant.TQ2_0}

// ggmlTestTypes returns the types a kernel test runs: all of them, or in
// the qemu and race runs of .ci/run (-short, -race) one per kernel and
// one type held as table codes (the others' tiles differ only in their
// table's bytes).
func ggmlTestTypes() []quant.Type {
	if !testing.Short() && !raceEnabled {
		return ggmlTypes
	}
	var ts []quant.Type
	for _, t := range ggmlTypes {
		if formats[t].kern == t || t == quant.IQ3_XXS {
			ts = append(ts, t)
		}
	}
	return ts
}

// halfOffsets are the byte offsets of the float16 fields of one block of
// each type (d, and dmin or m).
var halfOffsets = map[quant.Type][]int{
	quant.Q4_0: {0}, quant.Q8_0: {0}, quant.Q4_1: {0, 2}, quant.Q5_0: {0}, quant.Q5_1: {0, 2}, quant.IQ4_NL: {0},
	quant.Q2_K: {80, 82}, quant.Q3_K: {108}, quant.Q4_K: {0, 2}, quant.Q5_K: {0, 2},
	quant.Q6_K: {208}, quant.IQ4_XS: {0},
	quant.IQ3_S: {0}, quant.IQ3_XXS: {0}, quant.IQ2_XXS: {0}, quant.IQ2_XS: {0}, quant.IQ2_S: {0},
	quant.IQ1_S: {0}, quant.IQ1_M: {}, quant.TQ1_0: {52}, quant.TQ2_0: {64},
}

// randHalf returns a random finite, nonzero float16 of either sign below
// 0.02 in magnitude; one in eight is subnormal (real i-quant files have
// many: IQ2_XXS's d is about max|w|/166).
func randHalf(rng *rand.Rand) numeric.Float16 {
	if rng.IntN(8) == 0 {
		return numeric.Float16FromBits(uint16(1+rng.IntN(0x3ff)) | uint16(rng.IntN(2))<<15)
	}
	h := numeric.Float16FromFloat32(0)
	for h.Float32() == 0 {
		h = numeric.Float16FromFloat32((rng.Float32()*2 - 1) * 0.02)
	}
	return h
}

// randGGML returns n rows of k elements of type t: random bytes with
// finite, nonzero float16 scales of both signs.
func randGGML(rng *rand.Rand, t quant.Type, n, k int) []byte {
	rb, err := t.RowBytes(k)
	if err != nil {
		panic(err)
	}
	data := make([]byte, n*rb)
	for i := range data {
		data[i] = uint8(rng.IntN(256))
	}
	bb := t.BlockBytes()
	for b := 0; b < len(data)/bb; b++ {
		// Never ±0: a −0 scale makes Pack keep float32 scales for the
		// whole Matrix (Q4_0 and Q8_0 read through PackGGUF), and
		// llama.cpp's quantizers write none (d = amax/127 ≥ +0).
		for _, o := range halfOffsets[t] {
			binary.LittleEndian.PutUint16(data[b*bb+o:], randHalf(rng).Bits())
		}
		if t == quant.IQ1_M {
			// Its scale's four nibbles, low first, are the top nibbles
			// of the uint16 scale words at 48, 50, 52 and 54.
			h := randHalf(rng).Bits()
			for i := range 4 {
				o := b*bb + 48 + 2*i + 1
				data[o] = data[o]&0x0f | uint8(h>>(4*i)&15)<<4
			}
		}
	}
	return data
}

func packRows(t *testing.T, typ quant.Type, n, k int, data []byte) *GGML {
	t.Helper()
	rb, _ := typ.RowBytes(k)
	m, err := PackGGML(typ, n, k, func(j int) []byte { return data[j*rb : (j+1)*rb] })
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestGGMLDequantize checks that the tiles hold the file's exact values:
// DequantizeRow is bit-identical to quant.Dequantize.
func TestGGMLDequantize(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, typ := range ggmlTypes {
		if !typ.Supported() {
			t.Logf("%v: quant has no reference decoder yet; tile layout checked by TestGGMLMatMul only", typ)
			continue
		}
		f := formats[typ]
		n, k := 19, 2*f.sb
		if f.sb == 32 {
			k = 7 * 32
		}
		data := randGGML(rng, typ, n, k)
		checkDequantize(t, typ.String(), packRows(t, typ, n, k, data), typ, data)
	}
}

// checkDequantize fails t unless every row of m decodes bit-identically
// to ggml's decoder on data (m's rows, of type typ).
func checkDequantize(t *testing.T, name string, m *GGML, typ quant.Type, data []byte) {
	t.Helper()
	rb, _ := typ.RowBytes(m.K)
	got, want := make([]float32, m.K), make([]float32, m.K)
	for j := 0; j < m.N; j++ {
		if err := quant.Dequantize(typ, want, data[j*rb:(j+1)*rb]); err != nil {
			t.Fatal(err)
		}
		m.DequantizeRow(j, got)
		for i := range got {
			if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
				t.Fatalf("%s row %d [%d]: got %v, ggml %v", name, j, i, got[i], want[i])
			}
		}
	}
}

// refGGML returns y = dequant(acts)·Wᵀ in float64 from the tiles'
// dequantized rows and the quantized activations, and Σ|a·w| per output.
func refGGML(m *GGML, a []float32, rows int) (y, mag []float64) {
	var s ggmlActs
	quantizeActs(m.f, a, rows, m.K, &s)
	f := m.f
	ab := f.auxBytes()
	ad := make([]float64, rows*m.K)
	for r := 0; r < rows; r++ {
		for sb := 0; sb < m.K/f.sb; sb++ {
			rec := s.aux[(sb*rows+r)*ab:]
			da := float64(getF32(rec)) / float64(f.dscale) // the records carry the weights' dscale
			for j := sb * f.sb; j < (sb+1)*f.sb; j++ {
				ad[r*m.K+j] = float64(s.qa[r*m.K+j]) * da
			}
		}
	}
	w := make([]float32, m.K)
	y, mag = make([]float64, rows*m.N), make([]float64, rows*m.N)
	for n := 0; n < m.N; n++ {
		m.DequantizeRow(n, w)
		for r := 0; r < rows; r++ {
			var sum, abs float64
			for k, wv := range w {
				v := float64(wv) * ad[r*m.K+k]
				sum += v
				abs += math.Abs(v)
			}
			y[r*m.N+n], mag[r*m.N+n] = sum, abs
		}
	}
	return y, mag
}

// TestGGMLMatMul runs every variant of every type against the float64
// product of the dequantized weights and the quantized activations (the
// Q8_1 s term is rounded to float16 as llama.cpp does: tolerance 2⁻¹⁰ of
// Σ|a·w| covers it), and the variants against the generic kernel.
func TestGGMLMatMul(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	ctx := context.Background()
	for _, typ := range ggmlTestTypes() {
		f := formats[typ]
		// 100, 200 and 400 rows: pieces with several full groups, for the
		// one-row kernels that read several groups at once (400: runs of
		// several groups, walked by one call, on two threads too).
		ns := []int{1, 16, 17, 40, 100, 200, 400}
		if raceEnabled { // the kernels' arithmetic is the plain run's
			ns = []int{17, 400}
		}
		for _, n := range ns {
			for _, kb := range []int{1, 3} {
				k := kb * f.sb
				if f.sb == 32 {
					k = kb * 5 * 32
				}
				m := packRows(t, typ, n, k, randGGML(rng, typ, n, k))
				rowList := []int{1, 2, 3, 5, 8, 9, 17}
				if n > 40 {
					rowList = []int{1, 9}
				}
				if n > 200 {
					rowList = []int{1}
				}
				for _, rows := range rowList {
					a := randA(rng, rows*k)
					want, mag := refGGML(m, a, rows)
					var gen []float32
					for _, v := range ggmlVariants {
						y := make([]float32, rows*n+3)
						y[rows*n], y[rows*n+1], y[rows*n+2] = 7, 7, 7
						if err := m.matmul(ctx, y, a, rows, 0, v); err != nil {
							t.Fatal(err)
						}
						name := fmt.Sprintf("%v/%s N=%d K=%d rows=%d", typ, v.name, n, k, rows)
						if y[rows*n] != 7 || y[rows*n+2] != 7 {
							t.Fatalf("%s: wrote past y", name)
						}
						tol := 1.0 / 1024
						if f.mins != minsHalf {
							tol = 1e-5
						}
						for i := 0; i < rows*n; i++ {
							if d := math.Abs(float64(y[i]) - want[i]); d > tol*mag[i]+1e-6 {
								t.Fatalf("%s: y[%d] = %v, want %v (Σ|a·w| %v)", name, i, y[i], want[i], mag[i])
							}
						}
						if gen == nil {
							gen = y
							continue
						}
						for i := 0; i < rows*n; i++ {
							if d := math.Abs(float64(y[i] - gen[i])); d > 1e-6*mag[i]+1e-7 {
								t.Fatalf("%s: y[%d] = %v, generic %v", name, i, y[i], gen[i])
							}
						}
					}
				}
			}
		}
	}
}

// TestPackGGMLErrors checks the argument errors.
func TestPackGGMLErrors(t *testing.T) {
	row := func(int) []byte { return make([]byte, 144) }
	for _, c := range []struct {
		typ  quant.Type
		n, k int
	}{{quant.Q4_0, 1, 32}, {quant.Q4_K, 1, 128}, {quant.Q4_K, 0, 256}, {quant.Q4_K, 1, 512}} {
		if _, err := PackGGML(c.typ, c.n, c.k, row); err == nil {
			t.Errorf("PackGGML(%v, %d, %d): no error", c.typ, c.n, c.k)
		}
	}
}

// TestGGMLExtremes runs every variant against the generic kernel on
// saturated tiles (every code byte 0xFF, 0x00, 0x0F or 0xF0) with all-±1
// activations: the largest integer sums a kernel must keep exact (a kernel
// adding int16 pair sums past their safe bound passes the random tests but
// not this one).
func TestGGMLExtremes(t *testing.T) {
	if raceEnabled {
		t.Skip("one thread, the kernels' arithmetic: the plain run covers it")
	}
	rng := rand.New(rand.NewPCG(9, 9))
	ctx := context.Background()
	for _, typ := range ggmlTestTypes() {
		f := formats[typ]
		k := 2 * f.sb
		bb := typ.BlockBytes()
		half := map[int]bool{}
		for _, o := range halfOffsets[typ] {
			half[o], half[o+1] = true, true
		}
		// 129 rows at one row: 8 full groups, read as runs by the kernels
		// that take several groups at once.
		for i, fill := range []byte{0xff, 0x00, 0x0f, 0xf0, 0xff, 0x00, 0x0f, 0xf0} {
			n, most := 17, 9
			if i >= 4 {
				n, most = 16*ggmlRowTile+1, 1
			}
			data := randGGML(rng, typ, n, k)
			for i := range data {
				if !half[i%bb] {
					keep := uint8(0)
					if typ == quant.IQ1_M && i%bb >= 48 && i%2 == 1 {
						keep = 0xf0 // a nibble of its float16 scale
					}
					data[i] = data[i]&keep | fill&^keep
				}
			}
			m := packRows(t, typ, n, k, data)
			for _, sgn := range []float32{1, -1} {
				for rows := 1; rows <= most; rows++ {
					a := make([]float32, rows*k)
					for i := range a {
						a[i] = sgn
					}
					want := make([]float32, rows*n)
					if err := m.matmul(ctx, want, a, rows, 1, ggmlGeneric); err != nil {
						t.Fatal(err)
					}
					for _, v := range ggmlVariants[1:] {
						got := make([]float32, rows*n)
						if err := m.matmul(ctx, got, a, rows, 1, v); err != nil {
							t.Fatal(err)
						}
						for i := range got {
							if d := math.Abs(float64(got[i] - want[i])); d > 1e-6*math.Abs(float64(want[i]))+1e-7 {
								t.Fatalf("%v/%s fill %#x a=%v rows %d: y[%d] = %v, generic %v", typ, v.name, fill, sgn, rows, i, got[i], want[i])
							}
						}
					}
				}
			}
		}
	}
}

// TestGGMLAllocs checks that a product allocates nothing once its
// scratch is warm, for every variant.
func TestGGMLAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops items at random under -race")
	}
	rng := rand.New(rand.NewPCG(9, 9))
	m := packRows(t, quant.Q4_K, 64, 512, randGGML(rng, quant.Q4_K, 64, 512))
	for _, v := range ggmlVariants {
		for _, rows := range []int{1, 3, 9} {
			a := randA(rng, rows*512)
			y := make([]float32, rows*64)
			got := testing.AllocsPerRun(20, func() { _ = m.matmul(context.Background(), y, a, rows, 1, v) })
			if got != 0 {
				t.Errorf("%s rows %d: %v allocations per product, want 0", v.name, rows, got)
			}
		}
	}
}

// TestGGMLAccumulate runs every variant's kernels with accum set (add to
// out instead of storing; the MatMul driver does not use it yet) against
// the generic kernel on one group, rows 1..9.
func TestGGMLAccumulate(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	for _, typ := range ggmlTestTypes() {
		f := formats[typ]
		k := 2 * f.sb
		m := packRows(t, typ, GroupCols, k, randGGML(rng, typ, GroupCols, k))
		for mr := 1; mr <= ggmlRowTile; mr++ {
			var acts ggmlActs
			quantizeActs(f, randA(rng, mr*k), mr, k, &acts)
			run := func(v ggmlVariant) []float32 {
				out := make([]float32, mr*GroupCols)
				for i := range out {
					out[i] = float32(i%7) - 3
				}
				p := gargs{tile: &m.tiles[0], a: unsafe.Pointer(&acts.qa[0]), lda: k, aux: unsafe.Pointer(&acts.aux[0]),
					ldaux: mr * f.auxBytes(), out: &out[0], ldo: 4 * GroupCols, nsb: k / f.sb, accum: 1, lut: f.lutArg()}
				v.call(f, &p, mr)
				return out
			}
			want := run(ggmlGeneric)
			for _, v := range ggmlVariants[1:] {
				got := run(v)
				for i := range got {
					if d := math.Abs(float64(got[i] - want[i])); d > 1e-5*math.Abs(float64(want[i]))+1e-6 {
						t.Fatalf("%v/%s rows %d: out[%d] = %v, generic %v", typ, v.name, mr, i, got[i], want[i])
					}
				}
			}
		}
	}
}

// TestGGMLGroupsAccumulate runs the one-row kernels that read several
// groups at once with accum set, against the generic kernel group by
// group: with cols 1 on groups two apart (gstride two groups, outputs two
// groups apart: every other group untouched), and with cols 2 on the same
// strides (each stream walks two consecutive groups: all of them), with
// and without software prefetch.
func TestGGMLGroupsAccumulate(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	for _, v := range ggmlVariants {
		if v.groups <= 1 {
			continue
		}
		for _, typ := range ggmlTestTypes() {
			for _, cols := range []int{1, 2} {
				f := formats[typ]
				k := 2 * f.sb
				nsb, tb := k/f.sb, f.tileBytes()
				n := 2 * v.groups * GroupCols
				m := packRows(t, typ, n, k, randGGML(rng, typ, n, k))
				var acts ggmlActs
				quantizeActs(f, randA(rng, k), 1, k, &acts)
				start := make([]float32, n)
				for i := range start {
					start[i] = float32(i%7) - 3
				}
				p := gargs{a: unsafe.Pointer(&acts.qa[0]), lda: k, aux: unsafe.Pointer(&acts.aux[0]),
					ldaux: f.auxBytes(), nsb: nsb, accum: 1, lut: f.lutArg()}
				want := slices.Clone(start)
				for g := 0; g < 2*v.groups; g++ {
					if g%2 >= cols {
						continue
					}
					p.tile, p.out, p.ldo = &m.tiles[g*nsb*tb], &want[g*GroupCols], 4*GroupCols
					ggmlKernelGeneric(f, &p, 1)
				}
				for _, prefetch := range []bool{true, false} {
					got := slices.Clone(start)
					p.tile, p.out, p.ldo = &m.tiles[0], &got[0], 4*2*GroupCols
					if !ggmlCallGroups(v, f, &p, 2*nsb*tb, cols, prefetch) {
						if ggmlGroupsLack(v, f) {
							continue
						}
						t.Fatalf("%v/%s: no kernel", typ, v.name)
					}
					for i := range got {
						if d := math.Abs(float64(got[i] - want[i])); d > 1e-5*math.Abs(float64(want[i]))+1e-6 {
							t.Fatalf("%v/%s/cols%d/prefetch %v: out[%d] = %v, generic %v", typ, v.name, cols, prefetch, i, got[i], want[i])
						}
					}
				}
			}
		}
	}
}

// TestGGMLBytes: GGMLBytes predicts the packed footprint of every type.
func TestGGMLBytes(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	for _, typ := range ggmlTypes {
		n, k := 37, 2*formats[typ].sb
		m := packRows(t, typ, n, k, randGGML(rng, typ, n, k))
		if got, want := GGMLBytes(typ, n, k), int64(m.Footprint()); got != want {
			t.Errorf("%v: GGMLBytes %d, footprint %d", typ, got, want)
		}
	}
	if GGMLBytes(quant.NVFP4, 16, 256) != 0 || GGMLBytes(quant.Q4_K, 16, 100) != 0 {
		t.Error("GGMLBytes of an unpacked type or a K off the super-block: want 0")
	}
}

// TestGGMLIQ2Formats runs every form of the IQ1, IQ2 and IQ3 tiles on
// every CPU, whichever formats holds: the grid indices (gridFormat, which
// CPUs with AVX-512 VBMI run) and the table codes (codeFormat: 3-bit for
// the types of at most 8 levels, which the other CPUs run, and 4-bit).
// Each must decode bit-identically to ggml's decoder, take the documented
// bits per weight and multiply as the float64 product does, through every
// kernel variant that takes it.
func TestGGMLIQ2Formats(t *testing.T) {
	if raceEnabled {
		t.Skip("one thread per kernel call, the kernels' arithmetic: the plain run covers it")
	}
	rng := rand.New(rand.NewPCG(21, 22))
	ctx := context.Background()
	var fs []*format
	for _, typ := range []quant.Type{quant.IQ2_XXS, quant.IQ2_XS, quant.IQ2_S, quant.IQ3_XXS, quant.IQ3_S, quant.IQ1_S, quant.IQ1_M} {
		switch typ {
		case quant.IQ3_XXS:
			fs = append(fs, gridFormat3(typ))
		case quant.IQ3_S:
			fs = append(fs, gridFormat3S(typ))
		default:
			fs = append(fs, gridFormat(typ), codeFormat(formats[quant.IQ4_XS], typ, true))
		}
		fs = append(fs, codeFormat(formats[quant.IQ4_XS], typ, false))
	}
	for _, f := range fs {
		// -short (the qemu run of .ci/run): only the forms this CPU has
		// kernels for; the others run the generic kernel alone, which the
		// plain runs cover.
		gridKernels := ggmlGridKernels || ggmlGridAVX2 && f.grid != nil && !f.grid.quad && !f.grid.split
		if testing.Short() && ((f.grid != nil && !gridKernels) || (f.high > 0 && !ggmlCodes3)) {
			continue
		}
		typ := f.t
		name := fmt.Sprintf("%v/codes%d", typ, f.low+f.high)
		if f.grid != nil {
			name = typ.String() + "/grid"
		}
		n, k := 100, 3*f.sb
		data := randGGML(rng, typ, n, k)
		rb, _ := typ.RowBytes(k)
		m, err := packGGML(f, n, k, func(j int) []byte { return data[j*rb : (j+1)*rb] })
		if err != nil {
			t.Fatal(err)
		}
		// The grid tiles' size (docs/README): bits per weight of the
		// tiles, which hold whole groups of 16 rows.
		bpw := map[quant.Type]float64{quant.IQ2_XXS: 2.3125, quant.IQ2_XS: 2.6875, quant.IQ2_S: 2.8125, quant.IQ3_XXS: 3.3125, quant.IQ3_S: 3.5625,
			quant.IQ1_S: 1.71875, quant.IQ1_M: 2.0625}
		want := bpw[typ]
		if f.grid == nil { // table codes: 4 or 3 bits, an int8 scale per 32 or 16, d per 256
			want = float64(f.low+f.high) + 8/float64(f.sub) + 16.0/256
		}
		if got := float64(8*m.Footprint()) / float64(m.Groups*GroupCols*k); got != want {
			t.Errorf("%s: tiles of %v bits per weight, want %v", name, got, want)
		}
		checkDequantize(t, name, m, typ, data)
		// 1–3: the AVX2 grid kernels' group kernels and half kernels, 8 their
		// widest, 9 the expansion into table codes.
		for _, rows := range []int{1, 2, 3, 5, 8, 9} {
			a := randA(rng, rows*k)
			ref, mag := refGGML(m, a, rows)
			for _, v := range ggmlVariants {
				y := make([]float32, rows*n)
				if err := m.matmul(ctx, y, a, rows, 0, v); err != nil {
					t.Fatal(err)
				}
				for i := range y {
					if d := math.Abs(float64(y[i]) - ref[i]); d > 1e-5*mag[i]+1e-6 {
						t.Fatalf("%s/%s rows=%d: y[%d] = %v, want %v", name, v.name, rows, i, y[i], ref[i])
					}
				}
			}
		}
	}
}

// TestGGMLPlane1Formats runs both forms of Q5_0, Q5_1, Q5_K and Q3_K, the
// masks and the plane1 form (plane1Format, which AVX2 CPUs hold, and
// AVX-512 ones with GFNI but for Q3_K), on every CPU, whichever form it
// holds: each must decode bit-identically to ggml's decoder, the plane1
// form take the masks' bytes, and both multiply as the float64 product
// does through every kernel variant (the AVX-512 ones run the AVX2 kernels
// for Q3_K's plane1 form), at 1 row (the kernels over several groups) to 9.
func TestGGMLPlane1Formats(t *testing.T) {
	rng := rand.New(rand.NewPCG(23, 24))
	for _, typ := range []quant.Type{quant.Q5_0, quant.Q5_1, quant.Q5_K, quant.Q3_K} {
		masks := masksFormat(typ)
		for _, f := range []*format{masks, plane1Format(typ, masks)} {
			checkFormVariants(t, rng, f, 3, []int{1, 2, 3, 5, 8, 9}, func(ggmlVariant) bool { return true })
		}
	}
}

// masksFormat returns t's format (Q5_0, Q5_1, Q5_K or Q3_K) with its extra
// bit as masks, whichever form this CPU holds t in.
func masksFormat(t quant.Type) *format {
	f := *formats[t]
	f.plane1, f.kern, f.chunked = false, t, chunkedType(t)
	return &f
}

// checkFormVariants packs a random matrix of f's type in form f (k =
// blocks·max(sb, 64)); it must decode as ggml does, take GGMLBytes, and
// multiply as the float64 product does at each row count through every
// variant that use picks, without falling back to the generic kernel
// where the CPU has plane1 kernels.
func checkFormVariants(t *testing.T, rng *rand.Rand, f *format, blocks int, rowList []int, use func(ggmlVariant) bool) {
	t.Helper()
	typ := f.t
	name := typ.String() + "/masks"
	if f.plane1 {
		name = typ.String() + "/plane1"
	}
	n, k := 100, blocks*max(f.sb, 64)
	data := randGGML(rng, typ, n, k)
	rb, _ := typ.RowBytes(k)
	m, err := packGGML(f, n, k, func(j int) []byte { return data[j*rb : (j+1)*rb] })
	if err != nil {
		t.Fatal(err)
	}
	if got, want := m.Footprint(), int(GGMLBytes(typ, n, k)); got != want {
		t.Errorf("%s: %d bytes of tiles, the masks' form %d", name, got, want)
	}
	checkDequantize(t, name, m, typ, data)
	tol := 1e-5
	if f.mins == minsHalf {
		tol = 1.0 / 1024 // the activations' sum sa as ggml rounds it (TestGGMLMatMul)
	}
	for _, rows := range rowList {
		a := randA(rng, rows*k)
		ref, mag := refGGML(m, a, rows)
		for _, v := range ggmlVariants {
			if !use(v) {
				continue
			}
			fallbacks := ggmlFallbacks.Load()
			y := make([]float32, rows*n)
			if err := m.matmul(context.Background(), y, a, rows, 0, v); err != nil {
				t.Fatal(err)
			}
			if plane1Kernels && v.id != idGeneric && ggmlFallbacks.Load() != fallbacks {
				t.Fatalf("%s/%s rows=%d: the generic kernel ran", name, v.name, rows)
			}
			for i := range y {
				if d := math.Abs(float64(y[i]) - ref[i]); d > tol*mag[i]+1e-6 {
					t.Fatalf("%s/%s rows=%d: y[%d] = %v, want %v", name, v.name, rows, i, y[i], ref[i])
				}
			}
		}
	}
}

// TestGridTable checks the kernels' grid table against the grid: every
// entry's low and high code bytes name its magnitudes (IQ1: values), the
// controls and levels are in place, and the table is 64-byte aligned.
func TestGridTable(t *testing.T) {
	for _, typ := range []quant.Type{quant.IQ2_XXS, quant.IQ2_XS, quant.IQ2_S, quant.IQ1_S, quant.IQ1_M} {
		f := gridFormat(typ)
		g := f.grid
		iq1 := g.deltas > 0
		if uintptr(unsafe.Pointer(&g.kern[0]))%64 != 0 {
			t.Errorf("%v: grid table not 64-byte aligned", typ)
		}
		grid := quant.Grid(typ)
		n := len(grid)
		for i, e := range grid {
			w := uint16(g.kern[i]) | uint16(g.kern[n+i])<<8
			for j := 0; j < 8; j++ {
				c := w >> (2 * j) & 3
				m := int8(-9) // no IQ2 magnitude, no IQ1 value
				switch {
				case iq1 && c < 3:
					m = int8(c) - 1
				case !iq1:
					m = gridLevels[c]
				}
				if uint8(m) != uint8(e>>(8*j)) {
					t.Fatalf("%v: entry %d element %d: %d, grid %d", typ, i, j, m, uint8(e>>(8*j)))
				}
				// the level of code c (and for IQ1 of a negative shift)
				if want := int8(8*c) - 7; iq1 && (f.lut.s[c] != want || f.lut.s[c|4] != want-2) {
					t.Fatalf("%v: levels of code %d: %d, %d", typ, c, f.lut.s[c], f.lut.s[c|4])
				}
			}
		}
		for i := 0; i < 64; i++ {
			if want := 128 + int(f.lut.s[i%4]); i%4 < 3 && int(g.kern[2*n+256+i]) != want {
				t.Errorf("%v: level %d: %d, want %d", typ, i, g.kern[2*n+256+i], want)
			}
		}
		if iq1 && binary.LittleEndian.Uint32(g.kern[2*n+320:]) != 0x02020202 {
			t.Errorf("%v: no 0x02020202 at %d", typ, 2*n+320)
		}
		// iq1High: every entry's high code byte by its run of 16.
		for i := 0; iq1 && i < n; i++ {
			h := g.kern[2*n+384:]
			r := i >> 4
			got := h[r]
			if i&15 >= int(h[256+r]) {
				got = h[128+r]
			}
			if want := uint8(g.words[i] >> 8); got != want {
				t.Fatalf("%v: entry %d: high byte %#x by its run, %#x", typ, i, got, want)
			}
		}
	}
	f := gridFormat3(quant.IQ3_XXS)
	g := f.grid
	if uintptr(unsafe.Pointer(&g.kern[0]))%64 != 0 {
		t.Error("IQ3_XXS: grid table not 64-byte aligned")
	}
	for i, e := range quant.Grid4(quant.IQ3_XXS) {
		for j := 0; j < 4; j++ {
			m := uint8(e >> (8 * j))
			if g.kern[256*j+i] != 128+m || uint8(grid3Levels[g.words[i]>>(3*j)&7]) != m {
				t.Fatalf("IQ3_XXS: entry %d element %d: table %d, code %d, grid %d", i, j, g.kern[256*j+i], g.words[i]>>(3*j)&7, m)
			}
		}
	}
	f = gridFormat3S(quant.IQ3_S)
	g = f.grid
	if uintptr(unsafe.Pointer(&g.kern[0]))%64 != 0 {
		t.Error("IQ3_S: grid table not 64-byte aligned")
	}
	for i, e := range quant.Grid4(quant.IQ3_S) {
		for j := 0; j < 4; j++ {
			m, c := uint8(e>>(8*j)), g.words[i]>>(3*j)&7
			if nib := g.kern[512*(j/2)+i] >> (4 * (j % 2)) & 15; nib != m || int(f.lut.s[c]) != int(m) {
				t.Fatalf("IQ3_S: entry %d element %d: nibble %d, code %d (level %d), grid %d", i, j, nib, c, f.lut.s[c], m)
			}
		}
	}
	// splitPos and splitCtrl: quad g of column c, after the two
	// interleaves, lands in dword c of output g (nibble j at bit 4j).
	for c := 0; c < GroupCols; c++ {
		for gq := 0; gq < 4; gq++ {
			pos := splitPos(c, gq)
			lane, o := pos/16, pos%16
			if o/8 != gq/2 { // the interleave the quad's words come from
				t.Fatalf("IQ3_S: column %d quad %d at byte %d: in the wrong interleave", c, gq, pos)
			}
			qw := 2*lane + o%8/4 // its word's qword
			if qw != c/2 {
				t.Fatalf("IQ3_S: column %d quad %d: in qword %d, output dword in qword %d", c, gq, qw, c/2)
			}
			for j := 0; j < 4; j++ {
				b := 4*c + j
				if want := 16*(o%4) + 4*j; int(g.kern[1024+64*(gq%2)+b]) != want {
					t.Fatalf("IQ3_S: control %d byte %d = %d, want %d", gq%2, b, g.kern[1024+64*(gq%2)+b], want)
				}
			}
		}
	}
	for b := 0; b < 64; b++ {
		if g.kern[1152+b] != 0x0f || g.kern[1216+b] != 0x80 {
			t.Fatalf("IQ3_S: constant byte %d: %#x, %#x", b, g.kern[1152+b], g.kern[1216+b])
		}
	}
}

// TestGridExpand checks the expansion of grid tiles into wide tiles: the
// kernel's bytes are the generic expansion's, and the wide tiles hold the
// file's values exactly.
func TestGridExpand(t *testing.T) {
	if raceEnabled {
		t.Skip("the kernels' arithmetic: the plain run covers it")
	}
	for _, f := range []*format{gridFormat(quant.IQ2_XXS), gridFormat(quant.IQ2_XS), gridFormat(quant.IQ2_S),
		gridFormat3(quant.IQ3_XXS), gridFormat3S(quant.IQ3_S), gridFormat(quant.IQ1_S), gridFormat(quant.IQ1_M)} {
		testGridExpand(t, f)
	}
}

func testGridExpand(t *testing.T, f *format) {
	typ := f.t
	rng := rand.New(rand.NewPCG(23, uint64(typ)))
	n, k := 37, 3*f.sb
	data := randGGML(rng, typ, n, k)
	rb, _ := typ.RowBytes(k)
	m, err := packGGML(f, n, k, func(j int) []byte { return data[j*rb : (j+1)*rb] })
	if err != nil {
		t.Fatal(err)
	}
	tiles := m.Groups * k / f.sb
	want := make([]uint8, tiles*f.grid.wide.tileBytes())
	expandGridGeneric(f, want, m.tiles, tiles)
	for _, v := range ggmlVariants {
		got := make([]uint8, len(want))
		expandGrid(v, f, got, m.tiles, tiles)
		if i := slices.Compare(got, want); i != 0 {
			for j := range got {
				if got[j] != want[j] {
					t.Fatalf("%v/%s: byte %d (tile %d, offset %d) = %#x, generic %#x", typ, v.name, j, j/f.grid.wide.tileBytes(), j%f.grid.wide.tileBytes(), got[j], want[j])
				}
			}
		}
	}
	w := &GGML{N: n, K: k, Groups: m.Groups, f: f.grid.wide, tiles: want}
	checkDequantize(t, typ.String()+"/wide", w, typ, data)
}

// TestPackOptionsSpeed: PackOptions.Speed holds IQ2_S, IQ3_S, IQ1_S and
// IQ1_M (on AVX2 CPUs without VBMI also IQ2_XXS and IQ2_XS, and not
// IQ3_S) as table codes where this CPU keeps their grid indices; both
// forms give the same integer sums, so the same products to the bit, and
// Bytes predicts each footprint.
func TestPackOptionsSpeed(t *testing.T) {
	rng := rand.New(rand.NewPCG(31, 32))
	ctx := context.Background()
	for _, typ := range []quant.Type{quant.IQ2_XXS, quant.IQ2_XS, quant.IQ2_S, quant.IQ3_S, quant.IQ1_S, quant.IQ1_M, quant.Q4_K} {
		n, k := 40, 2*formats[typ].sb
		data := randGGML(rng, typ, n, k)
		rb, _ := typ.RowBytes(k)
		row := func(j int) []byte { return data[j*rb : (j+1)*rb] }
		def, err := PackGGML(typ, n, k, row)
		if err != nil {
			t.Fatal(err)
		}
		fast, err := PackGGMLWith(typ, n, k, row, PackOptions{Speed: true})
		if err != nil {
			t.Fatal(err)
		}
		if got, want := int64(fast.Footprint()), (PackOptions{Speed: true}).Bytes(typ, n, k); got != want {
			t.Errorf("%v: Speed footprint %d, Bytes %d", typ, got, want)
		}
		// A faster form exists only where the default keeps the grid (on
		// VBMI CPUs not for IQ2_XXS and IQ2_XS), and is table codes.
		grid, hasFast := def.f.grid != nil, speedFormats[typ] != nil
		if hasFast != (fast.f != def.f) || hasFast && (fast.f.grid != nil || !grid) {
			t.Errorf("%v: Speed form %v (grid %v), default grid %v", typ, fast.f.kern, fast.f.grid != nil, grid)
		}
		if hasFast && fast.Footprint() <= def.Footprint() {
			t.Errorf("%v: table codes %d bytes, grid tiles %d: want more", typ, fast.Footprint(), def.Footprint())
		}
		for _, rows := range []int{1, 3, 12} {
			a := randA(rng, rows*k)
			y0, y1 := make([]float32, rows*n), make([]float32, rows*n)
			if err := def.MatMul(ctx, y0, a, rows, 2); err != nil {
				t.Fatal(err)
			}
			if err := fast.MatMul(ctx, y1, a, rows, 2); err != nil {
				t.Fatal(err)
			}
			if i := slices.Compare(y0, y1); i != 0 {
				t.Fatalf("%v rows=%d: the two forms' products differ", typ, rows)
			}
		}
	}
}

// TestCodes16Levels: every format multiplied by the kernCodes16 kernels
// (the i-quants' table codes with a scale per 16, and the grids'
// expansions) has levels within codes16Top, which the AVX2 kernels' int16
// sums over two vectors rely on.
func TestCodes16Levels(t *testing.T) {
	var fs []*format
	for _, typ := range []quant.Type{quant.IQ2_XXS, quant.IQ2_XS, quant.IQ2_S, quant.IQ1_S, quant.IQ1_M} {
		fs = append(fs, gridFormat(typ).grid.wide)
	}
	for _, typ := range []quant.Type{quant.IQ2_XXS, quant.IQ2_XS, quant.IQ2_S, quant.IQ3_XXS, quant.IQ3_S, quant.IQ1_S, quant.IQ1_M} {
		fs = append(fs, codeFormat(formats[quant.IQ4_XS], typ, false), codeFormat(formats[quant.IQ4_XS], typ, true))
	}
	for _, m := range []map[quant.Type]*format{formats, speedFormats} {
		for _, f := range m {
			fs = append(fs, f)
			if f.grid != nil {
				fs = append(fs, f.grid.wide)
			}
		}
	}
	n := 0
	for _, f := range fs {
		if f.kern != kernCodes16 {
			continue
		}
		n++
		for _, l := range f.lut.s {
			if l > codes16Top || l < -codes16Top {
				t.Errorf("%v: level %d beyond ±%d", f.t, l, codes16Top)
			}
		}
	}
	if n == 0 {
		t.Fatal("no kernCodes16 format found")
	}
}

// TestGGMLBestHasKernel checks that on a CPU with an assembly tier every
// type, in each form PackGGMLWith gives it here, runs assembly in the
// variant MatMul uses, never the generic Go kernel: Q4_0 and Q8_0 once
// had no AVX2 kernels, and every AVX2 CPU multiplied them at 0.4 GFLOP/s.
func TestGGMLBestHasKernel(t *testing.T) {
	if ggmlBest == ggmlGeneric {
		t.Skip("no assembly tier on this CPU or build")
	}
	t.Logf("the variant MatMul uses: %s", ggmlBest.name)
	rng := rand.New(rand.NewPCG(5, 6))
	ctx := context.Background()
	for _, typ := range ggmlTypes {
		sb := formats[typ].sb
		data := randGGML(rng, typ, 16, sb)
		rb, _ := typ.RowBytes(sb)
		for _, o := range []PackOptions{{}, {Speed: true}} {
			m, err := PackGGMLWith(typ, 16, sb, func(j int) []byte { return data[j*rb : (j+1)*rb] }, o)
			if err != nil {
				t.Fatal(err)
			}
			// One row, and 9 (the group and half kernels, the grids'
			// expansions).
			for _, rows := range []int{1, 9} {
				before := ggmlFallbacks.Load()
				y := make([]float32, rows*16)
				if err := m.matmul(ctx, y, randA(rng, rows*sb), rows, 1, ggmlBest); err != nil {
					t.Fatal(err)
				}
				if n := ggmlFallbacks.Load() - before; n > 0 {
					t.Errorf("%v (%+v), %d rows: the %s variant ran the generic Go kernel %d times (form %v)", typ, o, rows, ggmlBest.name, n, m.f.kern)
				}
			}
		}
	}
}
