//go:build ignore

// gen_ggml_arm64 writes ggml_arm64.s and ggml_call_arm64.go: the NEON
// super-block kernels (ggml_kernel.go) for every format of ggml.go, one
// with ARMv8.0 widening multiplies (SMULL/SMLAL/SADALP) and one with SDOT
// (the dot-product extension), for 1–4 rows, and the switch that calls
// them. Run `GOARCH=arm64 go generate` in internal/qgemm on any machine
// (go generate skips the files of other architectures; the go:generate
// line of ggml_arm64.go unsets GOOS and GOARCH so that the generator itself
// runs on the host).
//
// A 128-bit register holds a "column vector": 4 columns of a quad (bytes
// 16j..16j+15 of a 64-byte code vector are columns 4j..4j+3, k = 4q+t at
// byte 4c+t). A kernel covers nj of the group's 4 column vectors, starting
// at gargsNEON.q; nj is the largest of 4, 2, 1 whose accumulators (per row
// and column vector: the float sum, the int32 super-block sum and the
// sub-block dot product) fit in the 32 registers with the constants and
// temporaries, the float sums in the stack frame if need be (they change
// once per super-block). ggmlNEONCols tells the caller nj.
//
// Decoding a column vector of a quad: the low bits by AND/USHR; each extra
// bit plane by TBL (the two mask bytes of the column vector replicated
// over 8 lanes each), CMTST against 1, 2, 4, …, 128 and MLS with −(bit
// value) (adds the bit where the mask is set); Q6_K's two extra bits
// (plane2) by a byte shift, AND 0x30 and ORR; IQ4 codes by TBL with the
// signed kvalues (then the zp term is not subtracted: Σ qa·kv is the same
// integer); Q8_0 codes by EOR 0x80 (code − 128, likewise). Every other
// code is below 128, so SDOT multiplies it as a signed byte. Without SDOT,
// SMULL+SMLAL sum two quads in int16 (|qa|·|v| ≤ 128·127: two products fit)
// and SADALP widens the pairs, after ADDP for codes below 64 (four
// products fit). The Go assembler lacks most of these instructions: they
// are WORDs with the instruction in the comment (encodings as in
// gen_asm_arm64.go, which says how to check them with GNU as).
package main

import (
	"bytes"
	"errors"
	"fmt"
	gofmt "go/format"
	"log"
	"os"
)

var out bytes.Buffer

func p(format string, args ...any) { fmt.Fprintf(&out, "\t"+format+"\n", args...) }
func label(l string)               { fmt.Fprintf(&out, "%s:\n", l) }

// word emits an instruction the Go assembler does not know.
func word(enc uint32, format string, args ...any) {
	fmt.Fprintf(&out, "\tWORD $0x%08x // %s\n", enc, fmt.Sprintf(format, args...))
}

func rdn(enc uint32, d, n int) uint32 { return enc | uint32(n)<<5 | uint32(d) }

func rdnm(enc uint32, d, n, m int) uint32 { return rdn(enc, d, n) | uint32(m)<<16 }

// elem adds the by-element index fields (H:L, M:Rm for 32-bit elements).
func elem(enc uint32, d, n, m, idx int) uint32 {
	return rdn(enc, d, n) | uint32(idx&1)<<21 | uint32(m)<<16 | uint32(idx>>1)<<11
}

func smull(d, n, m int, hi bool) {
	if hi {
		word(rdnm(0x4e20c000, d, n, m), "SMULL2 V%d.8H, V%d.16B, V%d.16B", d, n, m)
	} else {
		word(rdnm(0x0e20c000, d, n, m), "SMULL V%d.8H, V%d.8B, V%d.8B", d, n, m)
	}
}

func smlal(d, n, m int, hi bool) {
	if hi {
		word(rdnm(0x4e208000, d, n, m), "SMLAL2 V%d.8H, V%d.16B, V%d.16B", d, n, m)
	} else {
		word(rdnm(0x0e208000, d, n, m), "SMLAL V%d.8H, V%d.8B, V%d.8B", d, n, m)
	}
}

// smlalH multiplies halfwords into words.
func smlalH(d, n, m int, hi bool) {
	if hi {
		word(rdnm(0x4e608000, d, n, m), "SMLAL2 V%d.4S, V%d.8H, V%d.8H", d, n, m)
	} else {
		word(rdnm(0x0e608000, d, n, m), "SMLAL V%d.4S, V%d.4H, V%d.4H", d, n, m)
	}
}

// sxtl sign-extends bytes to halfwords (b) or halfwords to words.
func sxtl(d, n int, b, hi bool) {
	enc, what := uint32(0x0f10a400), [2]string{"SSHLL V%d.4S, V%d.4H, #0", "SSHLL2 V%d.4S, V%d.8H, #0"}
	if b {
		enc, what = 0x0f08a400, [2]string{"SSHLL V%d.8H, V%d.8B, #0", "SSHLL2 V%d.8H, V%d.16B, #0"}
	}
	if hi {
		word(rdn(enc|1<<30, d, n), what[1], d, n)
	} else {
		word(rdn(enc, d, n), what[0], d, n)
	}
}

func sadalp(d, n int)  { word(rdn(0x4e606800, d, n), "SADALP V%d.4S, V%d.8H", d, n) }
func saddlp(d, n int)  { word(rdn(0x4e602800, d, n), "SADDLP V%d.4S, V%d.8H", d, n) }
func scvtf(d, n int)   { word(rdn(0x4e21d800, d, n), "SCVTF V%d.4S, V%d.4S", d, n) }
func fmul(d, n, m int) { word(rdnm(0x6e20dc00, d, n, m), "FMUL V%d.4S, V%d.4S, V%d.4S", d, n, m) }
func fadd(d, n, m int) { word(rdnm(0x4e20d400, d, n, m), "FADD V%d.4S, V%d.4S, V%d.4S", d, n, m) }
func mla(d, n, m int)  { word(rdnm(0x4ea09400, d, n, m), "MLA V%d.4S, V%d.4S, V%d.4S", d, n, m) }
func mlsB(d, n, m int) { word(rdnm(0x6e209400, d, n, m), "MLS V%d.16B, V%d.16B, V%d.16B", d, n, m) }
func sdot(d, n, m, idx int) {
	word(elem(0x4f80e000, d, n, m, idx), "SDOT V%d.4S, V%d.16B, V%d.4B[%d]", d, n, m, idx)
}

func fcvtl(d, n int, hi bool) {
	if hi {
		word(rdn(0x4e217800, d, n), "FCVTL2 V%d.4S, V%d.8H", d, n)
	} else {
		word(rdn(0x0e217800, d, n), "FCVTL V%d.4S, V%d.4H", d, n)
	}
}

// signedCodes reports whether the kernels decode f's codes as signed
// values (IQ4 levels, Q8_0 code − 128) and skip the zp·Σqa term.
func (f format) signedCodes() bool { return f.lut || f.low == 8 }

// Constant table (ggmlNEONConst<>), 16-byte entries.
const (
	cIdxA   = 0  // TBL control: mask byte 0 into lanes 0–7, byte 1 into 8–15
	cIdxB   = 16 // bytes 2 and 3
	cBitSel = 32 // 1 << (i%8) at lane i
	cKv     = 48 // kvalues_iq4nl, signed
	cSize   = 64
)

var kvalues = [16]int8{-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113}

func constTable() {
	var t [cSize]byte
	for i := 0; i < 16; i++ {
		t[cIdxA+i] = uint8(i / 8)
		t[cIdxB+i] = uint8(2 + i/8)
		t[cBitSel+i] = 1 << (i % 8)
		t[cKv+i] = uint8(kvalues[i])
	}
	out.WriteString("\n// ggmlNEONConst<> holds the TBL controls that replicate plane mask bytes,\n// the bit-select vector and the signed IQ4 levels.\n")
	for o := 0; o < cSize; o += 8 {
		var v uint64
		for i := 7; i >= 0; i-- {
			v = v<<8 | uint64(t[o+i])
		}
		fmt.Fprintf(&out, "DATA ggmlNEONConst<>+%d(SB)/8, $0x%016x\n", o, v)
	}
	fmt.Fprintf(&out, "GLOBL ggmlNEONConst<>(SB), RODATA|NOPTR, $%d\n", cSize)
}

// shape is a kernel's register layout: mr rows, nj column vectors (4
// columns each), the float sums in the stack frame (spill).
type shape struct {
	mr, nj int
	spill  bool
}

func main() {
	out.WriteString("// Code generated by gen_ggml_arm64.go; DO NOT EDIT.\n\n//go:build !purego\n\n#include \"textflag.h\"\n")
	constTable()
	var call, sw, cols, idx bytes.Buffer
	call.WriteString("// Code generated by gen_ggml_arm64.go; DO NOT EDIT.\n\n//go:build !purego\n\npackage qgemm\n\nimport \"github.com/zerfoo/zerfoo/gguf/quant\"\n\n")
	kernels := 0
	for fi, f := range formats {
		fmt.Fprintf(&idx, "\tcase quant.%s:\n\t\treturn %d\n", f.name, fi)
		for _, dot := range []bool{false, true} {
			for mr := 1; mr <= 4; mr++ {
				s := fit(f, dot, mr)
				suffix := "NEON"
				if dot {
					suffix = "NEONDot"
				}
				name := fmt.Sprintf("g%sm%dc%d%s", f.name, mr, 4*s.nj, suffix)
				kernel(name, f, dot, s)
				what := "ARMv8.0 NEON"
				if dot {
					what = "NEON with SDOT"
				}
				if s.spill {
					what += ", float sums in the frame"
				}
				fmt.Fprintf(&call, "// %s is ggmlKernelGeneric for %s, mr %d, %d columns (%s).\n//\n//go:noescape\nfunc %s(p *gargsNEON)\n\n", name, f.name, mr, 4*s.nj, what, name)
				fmt.Fprintf(&sw, "\tcase %d:\n\t\t%s(p)\n", kernels, name)
				fmt.Fprintf(&cols, "%d, ", s.nj)
				if mr == 4 {
					cols.WriteString("\n")
				}
				kernels++
			}
		}
	}
	call.WriteString("// ggmlNEONFormat returns the index of t's kernels, or −1 when it has none:\n// kernel (index·2 + dot)·4 + mr − 1 computes mr rows (1–4), dot selecting\n// the SDOT kernels.\nfunc ggmlNEONFormat(t quant.Type) int {\n\tswitch t {\n")
	call.Write(idx.Bytes())
	call.WriteString("\t}\n\treturn -1\n}\n\n")
	call.WriteString("// ggmlNEONCols holds, per kernel, the column vectors (4 columns each) it\n// covers from gargsNEON.q.\nvar ggmlNEONCols = [...]uint8{\n")
	call.Write(cols.Bytes())
	call.WriteString("}\n\n// ggmlNEONKernel runs kernel i.\nfunc ggmlNEONKernel(i int, p *gargsNEON) {\n\tswitch i {\n")
	call.Write(sw.Bytes())
	call.WriteString("\tdefault:\n\t\tpanic(\"qgemm: no NEON super-block kernel\")\n\t}\n}\n")
	if err := os.WriteFile("ggml_arm64.s", out.Bytes(), 0o644); err != nil {
		log.Fatal(err)
	}
	src, err := gofmt.Source(call.Bytes())
	if err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile("ggml_call_arm64.go", src, 0o644); err != nil {
		log.Fatal(err)
	}
}

// fit returns the widest shape whose registers suffice for f's kernel
// of mr rows: 16, 8 or 4 columns, the float sums in registers if they
// fit.
func fit(f format, dot bool, mr int) shape {
	for _, nj := range []int{4, 2, 1} {
		for _, spill := range []bool{false, true} {
			s := shape{mr: mr, nj: nj, spill: spill}
			if tryKernel(f, dot, s) {
				return s
			}
		}
	}
	log.Fatalf("%s mr %d: no shape fits", f.name, mr)
	return shape{}
}

// tryKernel reports whether kernel f, s allocates its registers.
func tryKernel(f format, dot bool, s shape) (ok bool) {
	n := out.Len()
	defer func() {
		out.Truncate(n)
		if e := recover(); e != nil {
			if e != errRegs {
				panic(e)
			}
			ok = false
		}
	}()
	kernel("trial", f, dot, s)
	return true
}

var errRegs = errors.New("out of vector registers")

// valloc hands out the vector registers.
type valloc struct{ used [32]bool }

func (a *valloc) get() int {
	for i, u := range a.used {
		if !u {
			a.used[i] = true
			return i
		}
	}
	panic(errRegs)
}

// getN returns n consecutive registers.
func (a *valloc) getN(n int) []int {
	for i := 0; i+n <= 32; i++ {
		free := true
		for k := i; k < i+n; k++ {
			free = free && !a.used[k]
		}
		if free {
			rs := make([]int, n)
			for k := range rs {
				rs[k] = i + k
				a.used[i+k] = true
			}
			return rs
		}
	}
	panic(errRegs)
}

func (a *valloc) put(rs ...int) {
	for _, r := range rs {
		if !a.used[r] {
			log.Fatalf("register V%d freed twice", r)
		}
		a.used[r] = false
	}
}

// list formats consecutive registers as a VLD1/VST1 list.
func list(rs []int, arr string) string {
	var b bytes.Buffer
	b.WriteString("[")
	for i, r := range rs {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "V%d.%s", r, arr)
	}
	b.WriteString("]")
	return b.String()
}

// kernel emits one super-block kernel.
//
// General registers: R0 args, R1 the tile, R2 codes, R3 bit planes, R4
// sub-block scales (each offset to column vector q), R5–R8 activation
// rows 0–3, R9 the activation records of the super-block, R10 the zp·Σqa
// of the sub-block, R11 sub-blocks left, R12 super-blocks left, R13 lda,
// R14 ldaux, R15 a temporary, R16 the tile offset to column vector q (for
// the mins and d), R19–R22 the offsets of column vector q in the codes
// (16q), planes (2q), scales (4q) and mins and d (8q), R23 the float sums
// in the frame (spill).
//
// Vector registers: per row and column vector the float sum (facc), the
// super-block int32 sum (isum, when there are several sub-blocks; else the
// dot product is the sum) and the sub-block dot product (dacc); the
// constants; the rest temporaries.
func kernel(name string, f format, dot bool, s shape) {
	mr, nj := s.mr, s.nj
	va := &valloc{}
	ab := f.auxBytes()
	multi := f.nsub() > 1
	useZp := f.zp != 0 && !f.signedCodes()
	qps := 8 / f.low // quads per 64-byte step
	nq := f.sub / 4  // quads per sub-block
	rows := []string{"R5", "R6", "R7", "R8"}
	frame := 0
	if s.spill {
		frame = mr * nj * 16
	}
	var facc, isum, dacc [4][]int
	for r := 0; r < mr; r++ {
		if !s.spill {
			facc[r] = va.getN(nj)
		}
		dacc[r] = va.getN(nj)
		isum[r] = dacc[r]
		if multi {
			isum[r] = va.getN(nj)
		}
	}

	fmt.Fprintf(&out, "\n// func %s(p *gargsNEON)\n", name)
	fmt.Fprintf(&out, "TEXT ·%s(SB), NOSPLIT, $%d-8\n", name, frame)
	p("MOVD p+0(FP), R0")
	p("MOVD 0(R0), R1")
	p("MOVD 8(R0), R5")
	p("MOVD 16(R0), R13")
	for r := 1; r < mr; r++ {
		p("ADD R13, %s, %s", rows[r-1], rows[r])
	}
	p("MOVD 24(R0), R9")
	p("MOVD 32(R0), R14")
	p("MOVD 56(R0), R12")
	if nj < 4 {
		p("MOVD 80(R0), R15")
		p("LSL $4, R15, R19")
		p("LSL $1, R15, R20")
		p("LSL $2, R15, R21")
		p("LSL $3, R15, R22")
	}
	// Constants.
	mask, bitsel, idxA, idxB, lut, x80 := -1, -1, -1, -1, -1, -1
	var val []int
	if f.low < 8 {
		mask = va.get()
		p("VMOVI $%d, V%d.B16", 1<<f.low-1, mask)
	}
	if f.high > 0 && !f.plane2 || f.lut {
		p("MOVD $ggmlNEONConst<>(SB), R15")
	}
	mask30 := -1
	if f.plane2 {
		mask30 = va.get()
		p("VMOVI $0x30, V%d.B16", mask30)
	}
	if f.high > 0 && !f.plane2 {
		bitsel, idxA = va.get(), va.get()
		p("FMOVQ %d(R15), F%d", cBitSel, bitsel)
		p("FMOVQ %d(R15), F%d", cIdxA, idxA)
		if nj > 1 {
			idxB = va.get()
			p("FMOVQ %d(R15), F%d", cIdxB, idxB)
		}
		for h := 0; h < f.high; h++ {
			v := va.get()
			// MLS adds the bit: x − (−1)·v.
			p("VMOVI $%d, V%d.B16", 1<<(f.low+h), v)
			val = append(val, v)
		}
	}
	if f.lut {
		lut = va.get()
		p("FMOVQ %d(R15), F%d", cKv, lut)
	}
	if f.low == 8 {
		x80 = va.get()
		p("VMOVI $128, V%d.B16", x80)
	}
	var act []int
	if dot {
		for r := 0; r < mr; r++ {
			act = append(act, va.get())
		}
	}
	// Zero the float sums.
	if s.spill {
		p("ADD $8, RSP, R23")
		z := va.get()
		p("VEOR V%d.B16, V%d.B16, V%d.B16", z, z, z)
		for o := 0; o < frame; o += 16 {
			p("FMOVQ F%d, %d(R23)", z, o)
		}
		va.put(z)
	} else {
		for r := 0; r < mr; r++ {
			for _, v := range facc[r] {
				p("VEOR V%d.B16, V%d.B16, V%d.B16", v, v, v)
			}
		}
	}

	label("sb")
	zero := func(rs [4][]int) {
		for r := 0; r < mr; r++ {
			for _, v := range rs[r] {
				p("VEOR V%d.B16, V%d.B16, V%d.B16", v, v, v)
			}
		}
	}
	if multi {
		zero(isum)
	}
	offset := func(dst string, off int, qreg string) {
		switch {
		case off == 0 && nj == 4:
			p("MOVD R1, %s", dst)
		case nj == 4:
			p("ADD $%d, R1, %s", off, dst)
		default:
			p("ADD %s, R1, %s", qreg, dst)
			if off != 0 {
				p("ADD $%d, %s, %s", off, dst, dst)
			}
		}
	}
	offset("R2", 0, "R19")
	switch {
	case f.plane2:
		// Laid out as the codes: column vector q at 16q.
		offset("R3", f.lowBytes(), "R19")
	case f.high > 0:
		offset("R3", f.lowBytes(), "R20")
	}
	if f.subScales {
		offset("R4", f.scOff(), "R21")
	}
	if useZp && multi {
		p("ADD $8, R9, R10")
	}
	if multi {
		p("MOVD $%d, R11", f.nsub())
		label("sub")
	}
	zero(dacc)

	// field returns the register holding the low bits of quad i (of the
	// step) of column vector j: a new register, or c itself for the last
	// quad of the step (then c is consumed).
	field := func(c, i int) int {
		switch {
		case f.low == 8:
			return c
		case i == qps-1:
			p("VUSHR $%d, V%d.B16, V%d.B16", f.low*i, c, c)
			return c
		}
		x := va.get()
		if i == 0 {
			p("VAND V%d.B16, V%d.B16, V%d.B16", mask, c, x)
		} else {
			p("VUSHR $%d, V%d.B16, V%d.B16", f.low*i, c, x)
			p("VAND V%d.B16, V%d.B16, V%d.B16", mask, x, x)
		}
		return x
	}
	// planes loads the bit planes of quad v of the sub-block: per plane,
	// the masks of column vectors 0–1 (and of 2–3 shifted down, nj = 4).
	planes := func(v int) (lo, hi []int) {
		if f.high == 0 || f.plane2 {
			return nil, nil
		}
		pm := va.get()
		if f.high == 1 {
			p("FMOVD %d(R3), F%d", 8*v, pm)
		} else {
			p("FMOVQ %d(R3), F%d", 16*v, pm)
		}
		lo = []int{pm}
		if f.high == 2 {
			p1 := va.get()
			p("VEXT $8, V%d.B16, V%d.B16, V%d.B16", pm, pm, p1)
			lo = append(lo, p1)
		}
		if nj == 4 {
			for _, r := range lo {
				h := va.get()
				p("VUSHR $32, V%d.D2, V%d.D2", r, h)
				hi = append(hi, h)
			}
		}
		return lo, hi
	}
	// decode completes the code of column vector j in x: extra bits, IQ4
	// levels, Q8_0 sign.
	decode := func(x, j, v int, lo, hi []int) {
		if f.plane2 {
			// Quad v's two extra bits (bits 2v, 2v+1 of the sub-block's
			// 2-bit step, column vector j at 16j) moved to bits 4–5.
			t := va.get()
			p("FMOVQ %d(R3), F%d", 16*j, t)
			switch {
			case v < 2:
				p("VSHL $%d, V%d.B16, V%d.B16", 4-2*v, t, t)
			case v == 3:
				p("VUSHR $2, V%d.B16, V%d.B16", t, t)
			}
			p("VAND V%d.B16, V%d.B16, V%d.B16", mask30, t, t)
			p("VORR V%d.B16, V%d.B16, V%d.B16", t, x, x)
			va.put(t)
		}
		for h := 0; h < f.high && !f.plane2; h++ {
			src := lo[h]
			if j >= 2 {
				src = hi[h]
			}
			ix := idxA
			if j%2 == 1 {
				ix = idxB
			}
			t := va.get()
			p("VTBL V%d.B16, [V%d.B16], V%d.B16", ix, src, t)
			p("VCMTST V%d.B16, V%d.B16, V%d.B16", bitsel, t, t)
			mlsB(x, t, val[h])
			va.put(t)
		}
		if f.lut {
			p("VTBL V%d.B16, [V%d.B16], V%d.B16", x, lut, x)
		}
		if f.low == 8 {
			p("VEOR V%d.B16, V%d.B16, V%d.B16", x80, x, x)
		}
	}
	loadStep := func(st int) []int {
		c := make([]int, nj)
		for j := range c {
			c[j] = va.get()
			p("FMOVQ %d(R2), F%d", 64*st+16*j, c[j])
		}
		return c
	}

	var c []int
	if dot {
		for v := 0; v < nq; v++ {
			st, i := v/qps, v%qps
			if i == 0 {
				c = loadStep(st)
			}
			if v%4 == 0 {
				for r := 0; r < mr; r++ {
					p("FMOVQ.P 16(%s), F%d", rows[r], act[r])
				}
			}
			lo, hi := planes(v)
			for j := 0; j < nj; j++ {
				x := field(c[j], i)
				decode(x, j, v, lo, hi)
				for r := 0; r < mr; r++ {
					sdot(dacc[r][j], x, act[r], v%4)
				}
				va.put(x)
			}
			va.put(lo...)
			va.put(hi...)
		}
	} else {
		small := !f.signedCodes()
		for v := 0; v < nq; v += 2 {
			var xs [2][]int
			for k := 0; k < 2; k++ {
				st, i := (v+k)/qps, (v+k)%qps
				if i == 0 {
					c = loadStep(st)
				}
				lo, hi := planes(v + k)
				for j := 0; j < nj; j++ {
					x := field(c[j], i)
					decode(x, j, v+k, lo, hi)
					xs[k] = append(xs[k], x)
				}
				va.put(lo...)
				va.put(hi...)
			}
			for r := 0; r < mr; r++ {
				a0, a1 := va.get(), va.get()
				p("VLD1R.P 4(%s), [V%d.S4]", rows[r], a0)
				p("VLD1R.P 4(%s), [V%d.S4]", rows[r], a1)
				for j := 0; j < nj; j++ {
					t0, t1 := va.get(), va.get()
					x0, x1 := xs[0][j], xs[1][j]
					smull(t0, x0, a0, false)
					smlal(t0, x1, a1, false)
					smull(t1, x0, a0, true)
					smlal(t1, x1, a1, true)
					if small {
						p("VADDP V%d.H8, V%d.H8, V%d.H8", t1, t0, t0)
						sadalp(dacc[r][j], t0)
					} else {
						saddlp(t0, t0)
						saddlp(t1, t1)
						p("VADDP V%d.S4, V%d.S4, V%d.S4", t1, t0, t0)
						p("VADD V%d.S4, V%d.S4, V%d.S4", t0, dacc[r][j], dacc[r][j])
					}
					va.put(t0, t1)
				}
				va.put(a0, a1)
			}
			va.put(xs[0]...)
			va.put(xs[1]...)
		}
	}

	// Sub-block epilogue: subtract zp·Σqa, scale into the super-block sums.
	zpSub := func(base string, off int) {
		z := va.get()
		for r := 0; r < mr; r++ {
			p("MOVWU %d(%s), R15", off+r*ab, base)
			p("VDUP R15, V%d.S4", z)
			for _, d := range dacc[r] {
				p("VSUB V%d.S4, V%d.S4, V%d.S4", z, d, d)
			}
		}
		va.put(z)
	}
	if multi {
		sc := make([]int, nj)
		for j := range sc {
			sc[j] = va.get()
		}
		raw := va.get()
		switch nj {
		case 4:
			p("FMOVQ (R4), F%d", raw)
		case 2:
			p("FMOVD (R4), F%d", raw)
		case 1:
			p("FMOVS (R4), F%d", raw)
		}
		h := -1
		if nj == 4 {
			h = va.get()
			sxtl(h, raw, true, true)
		}
		sxtl(raw, raw, true, false)
		for j := range sc {
			src := raw
			if j >= 2 {
				src = h
			}
			sxtl(sc[j], src, false, j%2 == 1)
		}
		va.put(raw)
		if h >= 0 {
			va.put(h)
		}
		if useZp {
			zpSub("R10", 0)
			p("ADD $4, R10")
		}
		for r := 0; r < mr; r++ {
			for j := 0; j < nj; j++ {
				mla(isum[r][j], dacc[r][j], sc[j])
			}
		}
		va.put(sc...)
		p("ADD $%d, R2", f.sub*groupCols*f.low/8)
		if f.high > 0 {
			p("ADD $%d, R3", nq*f.high*8)
		}
		p("ADD $%d, R4", groupCols)
		p("SUBS $1, R11, R11")
		p("BNE sub")
	} else if useZp {
		zpSub("R9", 8)
	}

	// Super-block epilogue: facc += float(isum)·(d·da), then the mins.
	tb := "R1"
	if nj < 4 {
		tb = "R16"
		p("ADD R22, R1, R16")
	}
	// halves loads 4·nj float16 at off(tb) as float32 into nj registers.
	halves := func(off int) []int {
		rs := make([]int, nj)
		for j := range rs {
			rs[j] = va.get()
		}
		switch nj {
		case 4:
			p("FMOVQ %d(%s), F%d", off, tb, rs[1])
			p("FMOVQ %d(%s), F%d", off+16, tb, rs[3])
			fcvtl(rs[0], rs[1], false)
			fcvtl(rs[1], rs[1], true)
			fcvtl(rs[2], rs[3], false)
			fcvtl(rs[3], rs[3], true)
		case 2:
			p("FMOVQ %d(%s), F%d", off, tb, rs[1])
			fcvtl(rs[0], rs[1], false)
			fcvtl(rs[1], rs[1], true)
		case 1:
			p("FMOVD %d(%s), F%d", off, tb, rs[0])
			fcvtl(rs[0], rs[0], false)
		}
		return rs
	}
	// sum returns the register of row r's float sum j (loaded from the
	// frame when spilled) and a function that stores it back.
	sum := func(r, j int) (int, func()) {
		if !s.spill {
			return facc[r][j], func() {}
		}
		v := va.get()
		off := (r*nj + j) * 16
		p("FMOVQ %d(R23), F%d", off, v)
		return v, func() {
			p("FMOVQ F%d, %d(R23)", v, off)
			va.put(v)
		}
	}
	bcast := func(off int) int {
		v := va.get()
		p("ADD $%d, R9, R15", off)
		p("VLD1R (R15), [V%d.S4]", v)
		return v
	}
	dv := halves(f.dOff())
	var mv []int
	if f.mins == 1 {
		mv = halves(f.dOff() + 2*groupCols)
	}
	for r := 0; r < mr; r++ {
		da := bcast(r * ab)
		var sa int
		if f.mins == 1 {
			sa = bcast(r*ab + 4)
		}
		t := va.get()
		for j := 0; j < nj; j++ {
			fr, store := sum(r, j)
			fmul(t, dv[j], da)
			scvtf(isum[r][j], isum[r][j])
			p("VFMLA V%d.S4, V%d.S4, V%d.S4", t, isum[r][j], fr)
			if f.mins == 1 {
				p("VFMLA V%d.S4, V%d.S4, V%d.S4", sa, mv[j], fr)
			}
			store()
		}
		va.put(t, da)
		if f.mins == 1 {
			va.put(sa)
		}
	}
	va.put(dv...)
	va.put(mv...)
	if f.mins == 2 {
		// msum per row and column: Σ_sub m·bsum, the even and odd
		// sub-blocks of each pair in separate lanes of lo (columns 0–1 of
		// the vector) and hi (2–3), folded by ADDP.
		lo, hi := isum, dacc
		zero(lo)
		zero(hi)
		for pp := 0; pp < f.nsub()/2; pp++ {
			m := make([]int, nj)
			for j := range m {
				m[j] = va.get()
			}
			off := f.minOff() + 2*groupCols*pp
			switch nj {
			case 4:
				p("FMOVQ %d(%s), F%d", off, tb, m[0])
				p("FMOVQ %d(%s), F%d", off+16, tb, m[2])
				p("VUXTL2 V%d.B16, V%d.H8", m[0], m[1])
				p("VUXTL V%d.B8, V%d.H8", m[0], m[0])
				p("VUXTL2 V%d.B16, V%d.H8", m[2], m[3])
				p("VUXTL V%d.B8, V%d.H8", m[2], m[2])
			case 2:
				p("FMOVQ %d(%s), F%d", off, tb, m[0])
				p("VUXTL2 V%d.B16, V%d.H8", m[0], m[1])
				p("VUXTL V%d.B8, V%d.H8", m[0], m[0])
			case 1:
				p("FMOVD %d(%s), F%d", off, tb, m[0])
				p("VUXTL V%d.B8, V%d.H8", m[0], m[0])
			}
			for r := 0; r < mr; r++ {
				bs := bcast(r*ab + f.bsumOff() + 4*pp)
				for j := 0; j < nj; j++ {
					smlalH(lo[r][j], m[j], bs, false)
					smlalH(hi[r][j], m[j], bs, true)
				}
				va.put(bs)
			}
			va.put(m...)
		}
		dm := halves(f.dOff() + 2*groupCols)
		for r := 0; r < mr; r++ {
			da := bcast(r * ab)
			t := va.get()
			for j := 0; j < nj; j++ {
				fr, store := sum(r, j)
				p("VADDP V%d.S4, V%d.S4, V%d.S4", hi[r][j], lo[r][j], lo[r][j])
				scvtf(lo[r][j], lo[r][j])
				fmul(t, dm[j], da)
				p("VFMLS V%d.S4, V%d.S4, V%d.S4", t, lo[r][j], fr)
				store()
			}
			va.put(t, da)
		}
		va.put(dm...)
	}
	p("ADD $%d, R1", f.tileBytes())
	p("ADD R14, R9")
	p("SUBS $1, R12, R12")
	p("BNE sb")

	// Store (or add) the rows.
	for r := 0; r < mr; r++ {
		va.put(dacc[r]...)
		if multi {
			va.put(isum[r]...)
		}
	}
	va.put(act...)
	p("MOVD 40(R0), R5")
	p("MOVD 48(R0), R13")
	for r := 1; r < mr; r++ {
		p("ADD R13, %s, %s", rows[r-1], rows[r])
	}
	res := facc
	if s.spill {
		for r := 0; r < mr; r++ {
			res[r] = va.getN(nj)
			for j, v := range res[r] {
				p("FMOVQ %d(R23), F%d", (r*nj+j)*16, v)
			}
		}
	}
	p("MOVD 64(R0), R15")
	p("CBZ R15, store")
	o := va.getN(nj)
	for r := 0; r < mr; r++ {
		p("VLD1 (%s), %s", rows[r], list(o, "S4"))
		for j := 0; j < nj; j++ {
			fadd(res[r][j], res[r][j], o[j])
		}
	}
	label("store")
	for r := 0; r < mr; r++ {
		p("VST1 %s, (%s)", list(res[r], "S4"), rows[r])
	}
	p("RET")
}
