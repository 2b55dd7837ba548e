//go:build ignore

// gen_ggml_avx2 writes ggml_avx2_amd64.s and ggml_avx2_call_amd64.go: the
// AVX2 (+FMA, F16C) super-block kernels (ggml_kernel.go) for every format
// of ggml.go, and the switches that call them. Run with `go generate` in
// internal/qgemm (see ggml_amd64.go).
//
// A 256-bit vector holds half a group: bytes 32h..32h+31 of each 64-byte
// code step are columns 8h..8h+7, bytes 4h..4h+3 of each 64-bit plane mask
// their extra bits, and entries 8h..8h+7 of the sc, m and d arrays their
// scales. Two kernel kinds cover a group: "group" kernels run both halves
// for few rows (a tile is read once), "half" kernels run one half (4h in
// gargsAVX2.h4) for more rows (the codes are decoded once per more rows);
// format.rows says how many and shapeFor how each lays out its registers.
// The grid formats with an index per 8 elements have kernels of their own
// (gridKernel), which read each entry from the grid's table.
package main

import (
	"bytes"
	"fmt"
	"log"
	"os"
)

var out bytes.Buffer

func p(format string, args ...any) { fmt.Fprintf(&out, "\t"+format+"\n", args...) }
func label(l string)               { fmt.Fprintf(&out, "%s:\n", l) }

// temps returns how many vector registers a kernel needs besides its
// per-row sums and accumulators: the broadcast activations, the decoded
// codes, the loaded code step, the sub-block scale pairs (sub-scales),
// the table and the absolute values (IQ4).
func (f format) temps() int {
	if f.grid {
		return 6 // gridKernel's
	}
	n := 3
	if f.subScales {
		n++
	}
	switch {
	case f.lut && vnni:
		n++ // the table (of levels + 128)
	case f.lut:
		n += 2
	case f.signed8():
		n++ // the absolute values
	}
	return n
}

// signed8 reports Q8_0, whose 8-bit codes the AVX2 kernels multiply as
// signed values q = code − 128, |q|·(qa·sign q) as IQ4's levels: the
// unsigned codes' pair sums (up to 2·255·127) would saturate VPMADDUBSW.
func (f format) signed8() bool { return f.low == 8 }

// span returns how many code vectors' VPMADDUBSW pair sums a kernel may
// add in int16 (VPADDW) before widening them with VPMADDWD: as many as
// cannot overflow (span·2·(2^bits−1)·127 < 2^15), at most a sub-block's.
// IQ4 pair sums (up to 2·127·127) take one vector each.
func (f format) span() int {
	top := 1<<(f.low+f.high) - 1
	switch {
	case f.grid:
		top = f.gridTop()
	case f.lut && f.kern == "kernCodes16":
		// Only the i-quants' table codes take these tiles, whose levels
		// are at most 43 in magnitude: ggml.go's codes16Top, which
		// TestCodes16Levels checks for every format of this kernel.
		top = 64
	case f.lut, f.signed8():
		return 1
	}
	n := (1<<15 - 1) / (2 * top * 127)
	n = min(n, f.sub/4)
	for f.sub/4%n != 0 {
		n--
	}
	return n
}

// shape is the register layout of one kernel: halves (2: the whole group,
// 1: the half at p.h4) and mr rows, int16 sums per row (acc16: span > 1),
// and the float accumulators in registers or in the stack frame (spill;
// they change once per super-block).
type shape struct {
	halves, mr   int
	acc16, spill bool
	// groups > 1: a one-row kernel (halves 2, mr 1, spill) that reads that
	// many groups at once (gargsGroups), with software prefetch where pf
	// is set (groupsShape).
	groups int
	pf     bool
}

// groupsShape returns the layout of f's one-row kernel over ng groups:
// one group's int32 (and int16) sums in registers at a time, the groups'
// float accumulators in the frame.
func (f format) groupsShape(ng int, pf bool) shape {
	return shape{halves: 2, mr: 1, acc16: f.rowSums(), spill: true, groups: ng, pf: pf}
}

// regs returns the vector registers of s besides the temps: per row and
// half an int32 super-block sum and (unless spilled) an accumulator, and
// per row an int16 sum (acc16).
func (s shape) regs() int {
	n := s.halves * s.mr
	if !s.spill {
		n += s.halves * s.mr
	}
	if s.acc16 {
		n += s.mr
	}
	return n
}

// initAccs zeroes the float accumulators of s, or with spill their frame
// slots (yz: a register to zero them from).
func (s shape) initAccs(acc, slot func(hh, r int) string, yz string) {
	if s.spill {
		p("VPXOR %s, %s, %s", yz, yz, yz)
	}
	for hh := 0; hh < s.halves; hh++ {
		for r := 0; r < s.mr; r++ {
			if s.spill {
				p("VMOVUPS %s, %s", yz, slot(hh, r))
			} else {
				p("VPXOR %s, %s, %s", acc(hh, r), acc(hh, r), acc(hh, r))
			}
		}
	}
}

// storeRows ends a kernel of layout s: the accumulators (from their frame
// slots with spill) stored to the output rows, or added to them where
// gargs.accum is set.
func (s shape) storeRows(acc, slot func(hh, r int) string) {
	halves, mr := s.halves, s.mr
	if s.spill {
		for hh := 0; hh < halves; hh++ {
			for r := 0; r < mr; r++ {
				p("VMOVUPS %s, %s", slot(hh, r), acc(hh, r))
			}
		}
	}
	p("MOVQ 40(AX), SI")
	p("MOVQ 48(AX), R8")
	p("LEAQ (R8)(R8*2), R9")
	p("LEAQ (SI)(R8*4), R10")
	p("MOVQ 64(AX), DX")
	p("TESTQ DX, DX")
	p("JZ store")
	for hh := 0; hh < halves; hh++ {
		for r := 0; r < mr; r++ {
			p("VADDPS %s, %s, %s", row("SI", "R10", r, 32*hh), acc(hh, r), acc(hh, r))
		}
	}
	label("store")
	for hh := 0; hh < halves; hh++ {
		for r := 0; r < mr; r++ {
			p("VMOVUPS %s, %s", acc(hh, r), row("SI", "R10", r, 32*hh))
		}
	}
	p("VZEROUPPER")
	p("RET")
}

// shapeFor returns the layout of f's kernel over halves and mr rows: int16
// sums where f allows them, accumulators in registers where they fit;
// false when nothing fits.
func (f format) shapeFor(halves, mr int) (shape, bool) {
	for _, c := range [][2]bool{{true, false}, {true, true}, {false, false}, {false, true}} {
		s := shape{halves: halves, mr: mr, acc16: c[0], spill: c[1]}
		if s.acc16 && !f.rowSums() || !s.acc16 && vnni && f.subScales {
			continue
		}
		if s.regs()+f.temps() <= 16 {
			return s, true
		}
	}
	return shape{}, false
}

// rowSums reports whether f's kernels may keep a sum per row besides the
// super-block sums (shape.acc16): in the AVX2 tier the int16 sums of span
// vectors' pair sums (span > 1), in the AVX-VNNI tier the int32 sub-block
// dot products that the sub-block scales multiply (subScales), which it
// needs.
func (f format) rowSums() bool {
	if vnni {
		return f.subScales
	}
	return f.span() > 1
}

// rows returns the most rows of f's group kernels (both halves, the
// accumulators in registers) and of its half kernels: 8 (ggmlRowTile) for
// the formats with bit planes or a table, whose decoding then serves 8
// rows, and otherwise as many as keep int16 sums and accumulators in
// registers (decoding is cheap, the int16 sums save a VPMADDWD and VPADDD
// per row and vector).
func (f format) rows() (group, half int) {
	fits := func(halves, mr int, any bool) bool {
		s, ok := f.shapeFor(halves, mr)
		return ok && (any || !s.spill && s.acc16 == f.rowSums())
	}
	for fits(2, group+1, false) {
		group++
	}
	decode := f.high > 0 || f.lut || f.grid
	for half < 8 && fits(1, half+1, decode) {
		half++
	}
	return group, half
}

// consts are the constants a kernel keeps in registers (the others stay
// memory operands of ggmlAVX2Const<>), in the order they were placed.
type consts struct {
	order []int
	reg   map[int]string
}

// placeConsts gives the constants of want, most used first, the
// registers of free from its end, as far as they go.
func placeConsts(want []int, free []string) consts {
	m := consts{reg: map[int]string{}}
	for _, c := range want {
		if len(free) > 0 {
			m.reg[c], free = free[len(free)-1], free[:len(free)-1]
			m.order = append(m.order, c)
		}
	}
	return m
}

// at is constant c's operand: its register, or its place in the table.
func (m consts) at(c int) string {
	if r, ok := m.reg[c]; ok {
		return r
	}
	return cst(c)
}

// load fills the registers.
func (m consts) load() {
	for _, c := range m.order {
		p("VMOVDQU %s, %s", cst(c), m.reg[c])
	}
}

// reload fills again the registers below Yn: those a one-row kernel over
// groups stores the groups' outputs from at the end of each column.
func (m consts) reload(n int) {
	for _, c := range m.order {
		var i int
		if _, err := fmt.Sscanf(m.reg[c], "Y%d", &i); err == nil && i < n {
			p("VMOVDQU %s, %s", cst(c), m.reg[c])
		}
	}
}

// Constant table (ggmlAVX2Const<>), 32-byte entries.
const (
	cMask4  = 0   // 0x0f bytes
	cMask2  = 32  // 0x03 bytes
	cOnes   = 64  // int16 ones
	cSpread = 96  // VPSHUFB control: byte i ← byte i/8 of a broadcast dword
	cBitSel = 128 // 1 << (i%8) at byte i
	cVal    = 160 // 1<<2, 1<<4, 1<<5 bytes (extra-bit values), 32 bytes each
	cMask30 = 256 // 0x30 bytes (plane2: the two extra bits at bits 4–5)
	// The grid kernels' (gridKernel):
	cFF      = 288 // 0xff dwords
	cShift   = 320 // per run r (32 bytes each) 4c + r in dword c
	cHigh    = 448 // per index bit 8 + b (32 bytes each) 1 << (8 + b) dwords
	c7F      = 544 // 0x7f bytes (the IQ2 signs: VPADDUSB to the sign bit)
	cLaneBit = 576 // per half h (32 bytes each) 1 << (8h + c) in dword c
	cTwos    = 640 // 0x02 bytes
	// Indices of 10 and 11 bits (gridKernel's indices): per count of
	// higher bits nb = 2, 3 (32 bytes each, nb − 2 first) the dwords
	// Σ_b 1 << 4b, Σ_b 1 << (8 − 3b) and Σ_b 1 << (8 + b), b < nb.
	cNib    = 672 // 0x0f dwords
	cGridM1 = 704
	cGridK  = 768
	cGridM2 = 832
	c04     = 896 // 0x04 bytes (gridExpand: a low code's sign bit)
	c40     = 928 // 0x40 bytes (a high code's)
	c44     = 960 // 0x44 bytes (an IQ1 δ's, both codes)
	c80     = 992 // 0x80 bytes (Q8_0: code − 128 by XOR)
	// The AVX-VNNI plane1 kernels' GF2P8AFFINEQB matrices (plane1Matrix),
	// per quad q (32 bytes each): bit q to bit 4 (Q5), then to bit 2 (Q3_K).
	cP1    = 1024
	cP1Q3  = 1280
	cMaskF = 1536 // 0xf0 bytes (hiNib: a high nibble masked in place)
	cNibDn = 1568 // GF2P8AFFINEQB matrix: bits 4–7 to 0–3, the others cleared
	// The AVX-VNNI Q6_K kernels' GF2P8AFFINEQB matrices (plane2Matrix), per
	// quad q < 4 (32 bytes each): bits 2q, 2q+1 to bits 4, 5.
	cP2   = 1600
	cSize = 1728
)

func constTable() {
	var t [cSize]byte
	for i := 0; i < 32; i++ {
		t[cMask4+i] = 0x0f
		t[cMask2+i] = 0x03
		if i%2 == 0 {
			t[cOnes+i] = 1
		}
		t[cSpread+i] = byte(i / 8) // lane 1 reads bytes 2, 3 of its own copy
		t[cBitSel+i] = 1 << (i % 8)
		t[cVal+i] = 1 << 2
		t[cVal+32+i] = 1 << 4
		t[cVal+64+i] = 1 << 5
		t[cMask30+i] = 0x30
		t[cMaskF+i] = 0xf0
		t[cTwos+i] = 2
		t[c7F+i] = 0x7f
	}
	put32 := func(off, i int, v uint32) {
		for b := 0; b < 4; b++ {
			t[off+4*i+b] = byte(v >> (8 * b))
		}
	}
	var nibDn uint64 // output bit o < 4 takes input bit o + 4 (byte 7 − o)
	for o := 0; o < 4; o++ {
		nibDn |= uint64(1) << (o + 4) << (8 * (7 - o))
	}
	for i := 0; i < 4; i++ {
		for b := 0; b < 8; b++ {
			t[cNibDn+8*i+b] = byte(nibDn >> (8 * b))
		}
	}
	for q := 0; q < 4; q++ {
		for i := 0; i < 4; i++ {
			m := plane2Matrix(q)
			for b := 0; b < 8; b++ {
				t[cP2+32*q+8*i+b] = byte(m >> (8 * b))
			}
		}
	}
	for q := 0; q < 8; q++ {
		for i := 0; i < 4; i++ {
			for j, m := range []uint64{plane1Matrix(q, 4), plane1Matrix(q, 2)} {
				off := []int{cP1, cP1Q3}[j] + 32*q + 8*i
				for b := 0; b < 8; b++ {
					t[off+b] = byte(m >> (8 * b))
				}
			}
		}
	}
	for c := 0; c < 8; c++ {
		put32(cFF, c, 0xff)
		for r := 0; r < 4; r++ {
			put32(cShift+32*r, c, uint32(4*c+r))
		}
		for b := 0; b < 3; b++ {
			put32(cHigh+32*b, c, 1<<(8+b))
		}
		for h := 0; h < 2; h++ {
			put32(cLaneBit+32*h, c, 1<<(8*h+c))
		}
		put32(cNib, c, 0x0f)
		put32(c04, c, 0x04040404)
		put32(c40, c, 0x40404040)
		put32(c44, c, 0x44444444)
		put32(c80, c, 0x80808080)
		for nb := 2; nb <= 3; nb++ {
			var m1, k, m2 uint32
			for b := 0; b < nb; b++ {
				m1 |= 1 << (4 * b)
				k |= 1 << (8 - 3*b)
				m2 |= 1 << (8 + b)
			}
			put32(cGridM1+32*(nb-2), c, m1)
			put32(cGridK+32*(nb-2), c, k)
			put32(cGridM2+32*(nb-2), c, m2)
		}
	}
	out.WriteString("\n// ggmlAVX2Const<> holds the kernels' constants (see gen_ggml_avx2.go).\n")
	for o := 0; o < cSize; o += 8 {
		var v uint64
		for j := 7; j >= 0; j-- {
			v = v<<8 | uint64(t[o+j])
		}
		fmt.Fprintf(&out, "DATA ggmlAVX2Const<>+%d(SB)/8, $0x%016x\n", o, v)
	}
	fmt.Fprintf(&out, "GLOBL ggmlAVX2Const<>(SB), RODATA|NOPTR, $%d\n", cSize)
}

func cst(off int) string { return fmt.Sprintf("ggmlAVX2Const<>+%d(SB)", off) }

// planeConst is the constant of the GF2P8AFFINEQB matrix that moves quad
// q's extra bits of a plane1 step to bit f.low (cP1, cP1Q3), or of a
// plane2 step (Q6_K) to bits 4–5 (cP2), for the AVX-VNNI tier's plane
// kernels where their registers hold the matrices: one VEX
// GF2P8AFFINEQB instead of a shift and a mask. ggml_amd64.go runs those
// kernels only on CPUs with GFNI (every AVX-VNNI CPU so far: Alder Lake
// and later, Zen 4 and later).
func planeConst(f format, q int) int {
	if f.plane2 {
		return cP2 + 32*q
	}
	if f.low == 2 {
		return cP1Q3 + 32*q
	}
	return cP1 + 32*q
}

// valOff returns the constant of extra bit h's value 1 << (low+h).
func valOff(f format, h int) int {
	switch f.low + h {
	case 2:
		return cVal
	case 4:
		return cVal + 32
	case 5:
		return cVal + 64
	}
	log.Fatalf("%s: no constant for bit %d", f.name, f.low+h)
	return 0
}

func main() {
	interleavePlanes = true
	out.WriteString("// Code generated by gen_ggml_avx2.go; DO NOT EDIT.\n\n//go:build !purego\n\n#include \"textflag.h\"\n")
	constTable()
	var call bytes.Buffer
	call.WriteString("// Code generated by gen_ggml_avx2.go; DO NOT EDIT.\n\n//go:build !purego\n\npackage qgemm\n\nimport \"github.com/zerfoo/zerfoo/gguf/quant\"\n\n")
	var sw, vsw [5]bytes.Buffer
	var rows, vrows bytes.Buffer
	emitTier(&call, &sw, &rows, "AVX2", func(f format) bool { return !f.avx512Only() || f.avx2Grid() })
	vnni = true
	emitTier(&call, &vsw, &vrows, "VNNI", func(f format) bool { return f.vnniKernel() })
	vnni = false
	var ex bytes.Buffer
	for _, f := range formats {
		if !f.avx2Grid() {
			continue
		}
		name := fmt.Sprintf("g%sexpandAVX2", f.name)
		gridExpand(name, f)
		fmt.Fprintf(&call, "// %s is expandGridGeneric for %s (AVX2).\n//\n//go:noescape\nfunc %s(p *gexpand)\n\n", name, f.name, name)
		fmt.Fprintf(&ex, "\tcase %s:\n\t\t%s(p)\n", f.kernConst(), name)
	}
	call.WriteString("// ggmlExpandAVX2 runs the AVX2 grid expansion kernel for f; it reports\n// false when there is none.\nfunc ggmlExpandAVX2(f *format, p *gexpand) bool {\n\tswitch f.kern {\n")
	call.Write(ex.Bytes())
	call.WriteString("\tdefault:\n\t\treturn false\n\t}\n\treturn true\n}\n\n")
	writeDispatch(&call, "AVX2", &rows, &sw)
	writeDispatch(&call, "VNNI", &vrows, &vsw)
	if err := os.WriteFile("ggml_avx2_amd64.s", out.Bytes(), 0o644); err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile("ggml_avx2_call_amd64.go", append(bytes.TrimRight(call.Bytes(), "\n"), '\n'), 0o644); err != nil {
		log.Fatal(err)
	}
}

// writeDispatch writes the Go functions of one tier (AVX2 or VNNI) that
// report its row counts and call its group and half kernels.
func writeDispatch(call *bytes.Buffer, tier string, rows *bytes.Buffer, sw *[5]bytes.Buffer) {
	n := tierName[tier]
	fmt.Fprintf(call, "// ggml%sRows returns the most rows of t's %s group kernels (both\n// halves) and half kernels; 0, 0 when t has none.\nfunc ggml%sRows(t quant.Type) (group, half int) {\n\tswitch t {\n", tier, n, tier)
	call.Write(rows.Bytes())
	call.WriteString("\t}\n\treturn 0, 0\n}\n\n")
	fmt.Fprintf(call, "// ggml%sGroup runs f's %s kernel over both halves of a group for\n// mr rows (1 ≤ mr ≤ the group row count of ggml%sRows).\nfunc ggml%sGroup(f *format, p *gargsAVX2, mr int) {\n\tswitch f.kern {\n", tier, n, tier, tier)
	call.Write(sw[0].Bytes())
	fmt.Fprintf(call, "\tdefault:\n\t\tpanic(\"qgemm: no %s kernel\")\n\t}\n}\n\n", n)
	fmt.Fprintf(call, "// ggml%sHalf runs f's %s kernel over half p.h4/4 of a group for mr\n// rows (group rows < mr ≤ half rows of ggml%sRows).\nfunc ggml%sHalf(f *format, p *gargsAVX2, mr int) {\n\tswitch f.kern {\n", tier, n, tier, tier)
	call.Write(sw[1].Bytes())
	fmt.Fprintf(call, "\tdefault:\n\t\tpanic(\"qgemm: no %s kernel\")\n\t}\n}\n\n", n)
	fmt.Fprintf(call, "// ggml%sGroups runs f's one-row %s kernel over ggmlGroupsAVX2\n// groups at once, with or without software prefetch; it reports false\n// when f has none.\nfunc ggml%sGroups(f *format, p *gargsGroups, prefetch bool) bool {\n\tif !prefetch {\n\t\tswitch f.kern {\n", tier, n, tier)
	call.Write(sw[3].Bytes())
	call.WriteString("\t\tdefault:\n\t\t\treturn false\n\t\t}\n\t\treturn true\n\t}\n\tswitch f.kern {\n")
	call.Write(sw[2].Bytes())
	call.WriteString("\tdefault:\n\t\treturn false\n\t}\n\treturn true\n}\n\n")
	fmt.Fprintf(call, "// ggml%sHasGroups reports whether t has one-row %s kernels over\n// several groups (ggml%sGroups).\nfunc ggml%sHasGroups(t quant.Type) bool {\n\tswitch t {\n\tcase %s:\n\t\treturn true\n\t}\n\treturn false\n}\n\n", tier, n, tier, tier, sw[4].String())
}

// ggmlGroupsAVX2 is how many groups the one-row kernels of the AVX2 and
// AVX-VNNI tiers read at once (ggml_amd64.go's constant of that name).
const ggmlGroupsAVX2 = 4

// groupsAVX2 reports a format that gets one-row kernels over several
// groups in the AVX2 (or, with vnni, the AVX-VNNI) tier: those whose
// one-group kernel decodes fast enough to wait on memory (Q4_0, Q8_0,
// Q4_1, Q4_K, Q5_K, Q6_K, the plane1 forms of Q5_0, Q5_1 and Q5_K, and in
// the AVX-VNNI tier IQ4_NL, IQ4_XS and the 16-scale table codes, whose
// levels + 128 VPDPBUSD takes directly),
// which read 1.02–1.48 times as fast over 4 groups (one thread, 4096×14336,
// BenchmarkOneRowGroups, twenty-first session). The others are bound by
// their decoding (Q5_0/Q5_1's extra-bit masks, IQ4's signed levels on
// AVX2, 2-bit codes: 37–67 % of the streaming read with one group) and
// ran 0.77–1.06 times as fast over 4 groups, the accumulators' frame
// slots costing about what the streams gain.
func (f format) groupsAVX2() bool {
	return !f.grid && (!f.lut || vnni) && f.low >= 4 && (f.high == 0 || f.subScales || f.plane1 || f.plane2)
}

// tierName names a kernel tier in comments and panics.
var tierName = map[string]string{"AVX2": "AVX2", "VNNI": "AVX-VNNI"}

// vnni: kernel and shapeFor write the AVX-VNNI tier (vnniKernel): ymm
// VPDPBUSD, VEX-encoded by hand (vpdpbusd), in place of VPMADDUBSW,
// VPMADDWD and VPADDD.
var vnni bool

// vnniKernel reports a format the AVX-VNNI tier has kernels for: every
// one of the AVX2 tier but the grids. VPDPBUSD gives the block types'
// int32 sums directly; the types with sub-block scales sum each sub-block
// per row (rowSums), then subtract its zp·Σqa and multiply it by the
// scales (VPMULLD) into the super-block sums: 64 rows 1.03–1.19× the AVX2
// kernels' speed for the K-quants, 1.76× for IQ4_XS, whose table levels
// + 128 need no sign trick (twenty-first session).
func (f format) vnniKernel() bool { return !f.avx512Only() }

// vpdpbusd emits VPDPBUSD acc, u, a (AVX-VNNI, VEX.256.66.0F38.W0 50 /r:
// acc += Σ of 4 products of u's unsigned bytes by a's signed bytes, per
// dword), which Go's assembler encodes only as EVEX (AVX-512 VNNI).
func vpdpbusd(acc, u, a string) {
	var r, v, b int
	for _, x := range []struct {
		y string
		n *int
	}{{acc, &r}, {u, &v}, {a, &b}} {
		if _, err := fmt.Sscanf(x.y, "Y%d", x.n); err != nil {
			log.Fatalf("vpdpbusd %s, %s, %s: %v", acc, u, a, err)
		}
	}
	b1 := (^r>>3&1)<<7 | 1<<6 | (^b>>3&1)<<5 | 0x02
	b2 := (^v&15)<<3 | 1<<2 | 0x01
	p("BYTE $0xc4; BYTE $0x%02x; BYTE $0x%02x; BYTE $0x50; BYTE $0x%02x // VPDPBUSD %s, %s, %s", b1, b2, 0xc0|(r&7)<<3|(b&7), a, u, acc)
}

// emitTier writes the kernels of one tier (suffix AVX2 or VNNI) for the
// formats take accepts, their declarations into call, their dispatch
// cases into sw (group, half, the one-row kernels over ggmlGroupsAVX2
// groups with and without prefetch, and the formats that have those:
// groupsAVX2) and their row counts into rows.
func emitTier(call *bytes.Buffer, sw *[5]bytes.Buffer, rows *bytes.Buffer, tier string, take func(format) bool) {
	for _, f := range formats {
		if !take(f) {
			continue
		}
		group, half := f.rows()
		fmt.Fprintf(rows, "\tcase %s:\n\t\treturn %d, %d\n", f.kernConst(), group, half)
		for hi, halves := range []int{2, 1} {
			fmt.Fprintf(&sw[hi], "\tcase %s:\n\t\tswitch mr {\n", f.kernConst())
			lo, hi2 := 1, group
			if halves == 1 {
				lo, hi2 = group+1, half // the group kernels serve fewer rows
			}
			for mr := lo; mr <= hi2; mr++ {
				sh, _ := f.shapeFor(halves, mr)
				name := fmt.Sprintf("g%sm%d%s%s", f.name, mr, map[int]string{2: "", 1: "h"}[halves], tier)
				if f.grid {
					gridKernel(name, f, sh)
				} else {
					kernel(name, f, sh)
				}
				what := map[int]string{2: "16 columns", 1: "the 8 columns of half p.h4/4"}[halves]
				fmt.Fprintf(call, "// %s is ggmlKernelGeneric for %s, %s, mr %d (%s).\n//\n//go:noescape\nfunc %s(p *gargsAVX2)\n\n", name, f.name, what, mr, tierName[tier], name)
				fmt.Fprintf(&sw[hi], "\t\tcase %d:\n\t\t\t%s(p)\n", mr, name)
			}
			sw[hi].WriteString("\t\tdefault:\n\t\t\tpanic(\"qgemm: no " + tierName[tier] + " kernel\")\n\t\t}\n")
		}
		if !f.groupsAVX2() {
			continue
		}
		if sw[4].Len() > 0 {
			sw[4].WriteString(", ")
		}
		sw[4].WriteString(f.kernConst())
		for i, pf := range []bool{true, false} {
			name := fmt.Sprintf("g%sx%d%s%s", f.name, ggmlGroupsAVX2, map[bool]string{true: "", false: "np"}[pf], tier)
			kernel(name, f, f.groupsShape(ggmlGroupsAVX2, pf))
			what := map[bool]string{true: "", false: ", without software prefetch"}[pf]
			fmt.Fprintf(call, "// %s is ggmlKernelGeneric for %s, one row, over %d groups\n// (gargsGroups)%s (%s).\n//\n//go:noescape\nfunc %s(p *gargsGroups)\n\n", name, f.name, ggmlGroupsAVX2, what, tierName[tier], name)
			in := "\t\t\t"[:1+i] // the kernels without prefetch in a nested switch
			fmt.Fprintf(&sw[2+i], "%scase %s:\n%s\t%s(p)\n", in, f.kernConst(), in, name)
		}
	}
}

// row returns the address of activation row r at byte displacement disp,
// for rows based at b0 (rows 0–3) and b4 (rows 4–7) with stride R8 (R9 =
// 3·R8).
func row(b0, b4 string, r, disp int) string {
	base := b0
	if r >= 4 {
		base = b4
	}
	idx := [4]string{"", "(R8*1)", "(R8*2)", "(R9*1)"}[r%4]
	return fmt.Sprintf("%d(%s)%s", disp, base, idx)
}

// kernel emits one super-block kernel of layout sh.
//
// General registers: AX args, R15 tile, DI codes, BX bit planes, R11
// sub-block scales, SI/R10 activation rows 0/4 with stride R8 (R9 =
// 3·R8), R12 the activation records of the super-block, R13 the zp·Σqa of
// the sub-block, R14 4·h (half kernels) or the prefetch pointer (one-row
// group kernels), CX super-blocks left, DX sub-blocks left.
//
// Vector registers: from Y0 up, per half hh and row r an int32
// super-block sum, then (unless spilled to the frame) a float
// accumulator, then per row an int16 sum (acc16); from Y15 down the
// broadcast activations and products, the decoded codes, the loaded code
// step, the sub-block scale pairs (sc in both words of each dword:
// VPMADDWD applies the scale), the IQ4 table and absolute values, and
// int16 ones where a register is left. Constants the loop needs less
// often are memory operands.
//
// Each code vector (4 k of 8 columns) is multiplied by the broadcast
// activations with VPMADDUBSW: codes below 64 keep every pair sum below
// 2·63·127 < 2^15, and with acc16 span vectors' pair sums are added with
// VPADDW before VPMADDWD widens (and scales) them into the int32 sums.
// IQ4 codes are looked up as signed table values v, and Q8_0 codes taken
// as v = code − 128 (XOR 0x80), and multiplied as |v|·(qa·sign v), which
// stays below 2·128·127; the zp·Σqa term is then skipped (Σ qa·v =
// Σ qa·(v+128) − 128·Σqa). In the AVX-VNNI tier (vnni) VPDPBUSD adds
// each code vector's products to the int32 sums instead of VPMADDUBSW,
// VPMADDWD and VPADDD, Q8_0's codes and IQ4's levels + 128 unsigned with
// the zp term (and, with registers left, the odd vectors to second sums,
// dual, added in at the end of the block; with sub-block scales to a
// per-row sub-block sum, which the scales multiply by VPMULLD at the end
// of the sub-block). An extra bit plane's 32 mask
// bits are broadcast, spread to one byte each (VPSHUFB), tested against
// their bit (VPAND, VPCMPEQB) and its value ORed into the codes; Q6_K's
// two extra bits (plane2) are shifted into place, masked and ORed.
//
// A one-row kernel over sh.groups > 1 groups (gargsGroups: R8 the bytes
// between the groups' tiles, R9 = 3·R8) multiplies each super-block of
// group 0, 1, … in turn, so that the tiles stream from that many places
// at once; a group's float accumulators live in the frame while the next
// one's sums take the registers, and one call walks p.cols columns of
// groups (each group's next tiles follow its last, its outputs 64 bytes
// further).
func kernel(name string, f format, sh shape) {
	halves, mr := sh.halves, sh.mr
	reg := func(i int) string { return fmt.Sprintf("Y%d", i) }
	isum := func(hh, r int) string { return reg(hh*mr + r) }
	acc := func(hh, r int) string { return reg(halves*mr + hh*mr + r) }
	if sh.spill {
		acc = isum // only after the super-block loop
	}
	w := func(r int) string { return reg(sh.regs() - mr + r) }
	top := 15
	take := func() string { top--; return reg(top + 1) }
	yb, yd, yraw := take(), take(), take()
	var ysc, ylut, yabs string
	// s8: Q8_0's codes multiplied as signed values (VPMADDUBSW would
	// saturate); VPDPBUSD takes them unsigned, with the zero point.
	s8 := f.signed8() && !vnni
	// zpTerm: the sums less zp·Σqa; not for the signed values VPMADDUBSW
	// multiplies (Q8_0's, and IQ4's levels), but for VPDPBUSD's unsigned
	// codes and IQ4 levels + 128.
	zpTerm := f.zp != 0 && !s8 && (!f.lut || vnni)
	if f.subScales {
		ysc = take()
	}
	switch {
	case f.lut && vnni:
		ylut = take()
	case f.lut:
		ylut, yabs = take(), take()
	case s8:
		yabs = take()
	}
	if sh.regs() > top+1 {
		log.Fatalf("%s: out of registers", name)
	}
	var free []string
	for i := sh.regs(); i <= top; i++ {
		free = append(free, reg(i))
	}
	var msum string // the K-quant mins' sum when the accumulators are spilled
	if sh.spill && !sh.acc16 && f.mins == 2 {
		msum, free = free[0], free[1:]
	}
	// VNNI: where registers are left, a second int32 sum per half and row
	// takes the odd code vectors, so that two chains of VPDPBUSD (whose
	// latency is several cycles) run side by side.
	var dual []string
	if vnni && f.nsub() == 1 && len(free) >= halves*mr+1 {
		dual, free = free[:halves*mr], free[halves*mr:]
	}
	// hiNib: the odd code vectors of a 4-bit format without extra bits
	// (Q4_0, Q4_1), whose VNNI sums are the dual ones, keep their high
	// nibble in place (one VPAND with 0xf0 instead of a shift and a
	// mask): their codes are 16 times the nibble (at most 240, still
	// unsigned bytes for VPDPBUSD), and the dual sums, exact multiples of
	// 16, are shifted down once per block (VPSRAD) before they are added.
	hiNib := dual != nil && f.low == 4 && f.high == 0 && !f.lut
	sum2 := func(hh, r, v int) string {
		if dual != nil && v%2 == 1 {
			return dual[hh*mr+r]
		}
		return isum(hh, r)
	}
	// Constants go into the registers left, the most used first.
	var want []int
	if !f.subScales && !vnni {
		want = append(want, cOnes)
	}
	mask := cMask4
	switch f.low {
	case 2:
		mask = cMask2
	case 8:
		mask = c80
	}
	planeMask := cMask30 // plane2's bits 4–5; plane1's bit 4:
	if f.plane1 {
		planeMask = valOff(f, 0)
	}
	// gfni: the AVX-VNNI tier's plane kernels move a quad's extra bits
	// into place with one GF2P8AFFINEQB (planeConst) where registers are
	// left for the half's step of extra bits (yP, loaded once per
	// sub-block instead of once per quad), the low-bit mask and the
	// matrices: plane1 with 9 registers (7 of its 8 matrices, the 8th a
	// memory operand; with every matrix one, a one-row product was slower
	// than with the shift and mask), Q6_K's plane2 with 7 (its 4 matrices
	// and the odd quads' nibble matrix, cNibDn).
	gfni := vnni && (f.plane1 && len(want)+9 <= len(free) || f.plane2 && len(want)+7 <= len(free))
	var yP string // the half's step of extra bits, loaded once per sub-block (gfni, or a register left)
	switch {
	case gfni && f.plane2:
		yP, free = free[0], free[1:]
		want = append(want, mask, cNibDn)
		for q := 0; q < 4; q++ {
			want = append(want, planeConst(f, q))
		}
	case gfni:
		yP, free = free[0], free[1:]
		want = append(want, mask)
		for q := 0; q < 8; q++ {
			want = append(want, planeConst(f, q))
		}
	case f.plane1 || f.plane2:
		want = append(want, planeMask)
	case f.high > 0:
		want = append(want, cBitSel, cSpread)
		for h := 0; h < f.high; h++ {
			want = append(want, valOff(f, h))
		}
	}
	if (f.low < 8 || s8) && !gfni {
		want = append(want, mask)
	}
	if hiNib {
		want = append(want, cMaskF)
	}
	if (f.plane1 || f.plane2) && !gfni && len(free) > len(want) {
		// A register left: the step of extra bits is loaded once per
		// sub-block and half, not once per quad.
		yP, free = free[0], free[1:]
	}
	konst := placeConsts(want, free)
	k := konst.at
	ones := k(cOnes)
	// The groups of a one-row kernel over ng > 1 groups: the one being
	// multiplied (cur) lies cur·R8 bytes after group 0 (R9 = 3·R8), its
	// accumulators in frame slots of their own.
	ng, cur := max(1, sh.groups), 0
	slot := func(hh, r int) string { return fmt.Sprintf("%d(SP)", 32*((hh*mr+r)*ng+cur)) }
	frame := 0
	if sh.spill {
		frame = 32 * halves * mr * ng
	}
	ab := f.auxBytes()
	qps := 8 / f.low                            // quads (vectors) per 64-byte step
	steps := f.sub * groupCols * f.low / 8 / 64 // steps per sub-block
	// unroll: sub-blocks per pass of the sub-block loop; two for a plane1
	// format of 16-element sub-blocks (Q3_K), whose 1-bit step holds two
	// sub-blocks' bits (the second's at bits 4–7).
	unroll := 1
	if f.plane1 && f.sub == 16 {
		unroll = 2
	}
	if unroll > 1 && f.chunk() > 0 {
		// The extra bits' displacements below do not step by chunks.
		log.Fatalf("%s: chunked tiles with %d sub-blocks per pass", name, unroll)
	}
	prefetch := halves == 2 && mr == 1 && (ng == 1 || sh.pf)
	// tile returns the address of the current group's tile at disp.
	tile := func(disp int) string {
		return fmt.Sprintf("%d(R15)%s", disp, [4]string{"", "(R8*1)", "(R8*2)", "(R9*1)"}[cur])
	}
	// ta returns the address of a tile field at disp (for half 0) whose
	// half 1 lies scale·4 bytes further.
	ta := func(base string, disp, scale int) string {
		switch {
		case halves == 1:
			return fmt.Sprintf("%d(%s)(R14*%d)", disp, base, scale)
		case base == "R15":
			return tile(disp)
		}
		return fmt.Sprintf("%d(%s)", disp, base)
	}
	args := "gargsAVX2"
	if ng > 1 {
		args = "gargsGroups"
	}
	fmt.Fprintf(&out, "\n// func %s(p *%s)\n", name, args)
	fmt.Fprintf(&out, "TEXT ·%s(SB), NOSPLIT, $%d-8\n", name, frame)
	p("MOVQ p+0(FP), AX")
	p("MOVQ 0(AX), R15")
	if ng > 1 {
		p("MOVQ 80(AX), R8")
		p("LEAQ (R8)(R8*2), R9")
	} else {
		loadGargs()
	}
	if halves == 1 {
		p("MOVQ 80(AX), R14")
	}
	if ng == 1 {
		sh.initAccs(acc, slot, yb)
	}
	konst.load()
	if f.lut {
		// The signed levels of the format's table (gargs.lut + 64); for
		// VPDPBUSD the unsigned ones (levels + 128, at gargs.lut).
		p("MOVQ 72(AX), DX")
		p("VBROADCASTI128 %d(DX), %s", map[bool]int{false: 64, true: 0}[vnni], ylut)
	}
	if ng > 1 {
		// Each column: the activations from the start, the groups'
		// accumulators zeroed.
		label("col")
		konst.reload(2 * ng) // the last column's outputs were stored from Y0–Y(2ng−1)
		p("MOVQ 8(AX), SI")
		p("MOVQ 24(AX), R12")
		p("MOVQ 56(AX), CX")
		for cur = 0; cur < ng; cur++ {
			sh.initAccs(acc, slot, yb)
		}
	}

	// With one sub-block per super-block the first int32 sum is written,
	// not added, and there is no sub-block loop.
	one := f.nsub() == 1
	label("sb")
	for cur = 0; cur < ng; cur++ {
		subLabel := "sub"
		if cur > 0 {
			p("SUBQ $%d, SI", f.sb) // the super-block's activations again
			subLabel = fmt.Sprintf("sub%d", cur)
		}
		for hh := 0; hh < halves && (!one || vnni); hh++ {
			for r := 0; r < mr; r++ {
				p("VPXOR %s, %s, %s", isum(hh, r), isum(hh, r), isum(hh, r))
			}
		}
		for _, d := range dual {
			p("VPXOR %s, %s, %s", d, d, d)
		}
		if cur == 0 {
			p("MOVQ R15, DI")
		} else {
			p("LEAQ %s, DI", tile(0))
		}
		if f.chunk() > 0 {
			p("LEAQ %s, BX", tile(f.subLow()))
		} else if f.high > 0 {
			p("LEAQ %s, BX", tile(f.lowBytes()))
		}
		if f.subScales {
			p("LEAQ %s, R11", tile(f.scOff()))
		}
		if zpTerm {
			p("LEAQ 8(R12), R13")
		}
		if prefetch {
			p("LEAQ %s, R14", tile(pfDistAVX2(f)))
		}
		if !one {
			p("MOVQ $%d, DX", f.nsub()/unroll)
			label(subLabel)
		}
		for rep := 0; rep < unroll; rep++ {
			for hh := 0; hh < halves; hh++ {
				scale := ones
				switch {
				case f.subScales && vnni:
					// The sub-block scales, for VPMULLD; the rows' sub-block
					// sums from zero.
					p("VPMOVSXBD %s, %s", ta("R11", 8*hh, 2), ysc)
					for r := 0; r < mr; r++ {
						p("VPXOR %s, %s, %s", w(r), w(r), w(r))
					}
				case f.subScales:
					// (sc, sc) int16 pairs: VPMADDWD scales the pair sums.
					p("VPMOVSXBD %s, %s", ta("R11", 8*hh, 2), ysc)
					p("VPSLLD $16, %s, %s", ysc, yd)
					p("VPBLENDW $0xaa, %s, %s, %s", yd, ysc, ysc)
					scale = ysc
				}
				for s := 0; s < steps; s++ {
					p("VMOVDQU %s, %s", ta("DI", 64*s+32*hh, 8), yraw)
					if prefetch && hh == 0 {
						p("PREFETCHT0 (R14)")
						p("ADDQ $64, R14")
					}
					for i := 0; i < qps; i++ {
						v := s*qps + i
						switch {
						case s8:
							p("VPXOR %s, %s, %s", k(mask), yraw, yd)
						case f.low == 8: // VNNI: the codes as loaded (u = yraw)
						case i == 0:
							p("VPAND %s, %s, %s", k(mask), yraw, yd)
						case hiNib:
							p("VPAND %s, %s, %s", k(cMaskF), yraw, yd)
						case gfni && f.low == 4:
							// The high nibble down, cleared above, in one.
							p("VGF2P8AFFINEQB $0, %s, %s, %s", k(cNibDn), yraw, yd)
						default:
							p("VPSRLW $%d, %s, %s", i*f.low, yraw, yd)
							p("VPAND %s, %s, %s", k(mask), yd, yd)
						}
						if f.plane1 || f.plane2 {
							// Quad v's extra bits, bits high·v and up of the
							// sub-block's step of high-bit codes, moved to
							// bit low and up (Q6_K: 2v, 2v+1 to 4–5; plane1:
							// v to 4).
							// The step: in yP from the half's first quad on,
							// else loaded for each quad.
							src := yP
							switch {
							case yP == "":
								src = yb
								p("VMOVDQU %s, %s", ta("BX", 32*hh, 8), yb)
							case v == 0:
								p("VMOVDQU %s, %s", ta("BX", 32*hh, 8), yP)
							}
							if gfni {
								// Quad v's bit to bit low, the others cleared.
								p("VGF2P8AFFINEQB $0, %s, %s, %s", k(planeConst(f, v+rep*f.sub/4)), src, yb)
							} else {
								switch sh := f.low - f.high*(v+rep*f.sub/4); {
								case sh > 0:
									p("VPSLLW $%d, %s, %s", sh, src, yb)
									src = yb
								case sh < 0:
									p("VPSRLW $%d, %s, %s", -sh, src, yb)
									src = yb
								}
								p("VPAND %s, %s, %s", k(planeMask), src, yb)
							}
							p("VPOR %s, %s, %s", yb, yd, yd)
						}
						for h := 0; h < f.high && !f.plane1 && !f.plane2; h++ {
							p("VPBROADCASTD %s, %s", ta("BX", (v*f.high+h)*8+4*hh, 1), yb)
							p("VPSHUFB %s, %s, %s", k(cSpread), yb, yb)
							p("VPAND %s, %s, %s", k(cBitSel), yb, yb)
							p("VPCMPEQB %s, %s, %s", k(cBitSel), yb, yb)
							p("VPAND %s, %s, %s", k(valOff(f, h)), yb, yb)
							p("VPOR %s, %s, %s", yb, yd, yd)
						}
						u := yd
						if f.low == 8 && !s8 {
							u = yraw
						}
						signed := f.lut && !vnni || s8
						if f.lut {
							p("VPSHUFB %s, %s, %s", yd, ylut, yd)
						}
						if signed {
							p("VPABSB %s, %s", yd, yabs)
							u = yabs
						}
						for r := 0; r < mr; r++ {
							p("VPBROADCASTD %s, %s", row("SI", "R10", r, 4*v), yb)
							if signed {
								p("VPSIGNB %s, %s, %s", yd, yb, yb)
							}
							switch {
							case vnni && sh.acc16:
								vpdpbusd(w(r), u, yb)
							case vnni:
								vpdpbusd(sum2(hh, r, v), u, yb)
							case !sh.acc16 && one && v == 0:
								p("VPMADDUBSW %s, %s, %s", yb, u, yb)
								p("VPMADDWD %s, %s, %s", scale, yb, isum(hh, r))
							case !sh.acc16:
								p("VPMADDUBSW %s, %s, %s", yb, u, yb)
								p("VPMADDWD %s, %s, %s", scale, yb, yb)
								p("VPADDD %s, %s, %s", yb, isum(hh, r), isum(hh, r))
							case v%f.span() == 0:
								p("VPMADDUBSW %s, %s, %s", yb, u, w(r))
							default:
								p("VPMADDUBSW %s, %s, %s", yb, u, yb)
								p("VPADDW %s, %s, %s", yb, w(r), w(r))
							}
						}
						if sh.acc16 && !vnni && (v+1)%f.span() == 0 {
							for r := 0; r < mr; r++ {
								if one && v+1 == f.span() {
									p("VPMADDWD %s, %s, %s", scale, w(r), isum(hh, r))
									continue
								}
								p("VPMADDWD %s, %s, %s", scale, w(r), w(r))
								p("VPADDD %s, %s, %s", w(r), isum(hh, r), isum(hh, r))
							}
						}
					}
				}
				if prefetch && hh == 0 {
					for i := 0; i < f.chunkLines(rep); i++ {
						p("PREFETCHT0 (R14)") // an interleaved chunk's extra bits
						p("ADDQ $64, R14")
					}
				}
				if dual != nil && one {
					for r := 0; r < mr; r++ {
						if hiNib {
							p("VPSRAD $4, %s, %s", dual[hh*mr+r], dual[hh*mr+r])
						}
						p("VPADDD %s, %s, %s", dual[hh*mr+r], isum(hh, r), isum(hh, r))
					}
				}
				// VNNI: isum += sc·(dot − zp·Σqa) per row.
				for r := 0; r < mr && vnni && sh.acc16; r++ {
					if zpTerm {
						p("VPBROADCASTD %d(R13), %s", r*ab, yb)
						p("VPSUBD %s, %s, %s", yb, w(r), w(r))
					}
					p("VPMULLD %s, %s, %s", ysc, w(r), w(r))
					p("VPADDD %s, %s, %s", w(r), isum(hh, r), isum(hh, r))
				}
				// isum −= sc·zp·Σqa (IQ4, Q8_0: already signed).
				if zpTerm && !(vnni && sh.acc16) {
					if f.subScales {
						p("VPMOVSXBD %s, %s", ta("R11", 8*hh, 2), yd)
					}
					for r := 0; r < mr; r++ {
						p("VPBROADCASTD %d(R13), %s", r*ab, yb)
						if f.subScales {
							p("VPMULLD %s, %s, %s", yd, yb, yb)
						}
						p("VPSUBD %s, %s, %s", yb, isum(hh, r), isum(hh, r))
					}
				}
			}
			if !one {
				if c := f.chunk(); c > 0 {
					p("ADDQ $%d, DI", c)
					p("ADDQ $%d, BX", c)
				} else {
					p("ADDQ $%d, DI", f.subLow())
					if f.high > 0 && rep == unroll-1 {
						p("ADDQ $%d, BX", unroll*f.subHigh())
					}
				}
				if f.subScales {
					p("ADDQ $%d, R11", groupCols)
				}
				if zpTerm {
					p("ADDQ $4, R13")
				}
			}
			p("ADDQ $%d, SI", f.sub)
			if mr > 4 {
				p("ADDQ $%d, R10", f.sub)
			}
		}
		if !one {
			p("DECQ DX")
			p("JNZ %s", subLabel)
		}

		// Super-block epilogue: acc += float(isum)·(d·da), then the mins.
		if prefetch {
			for o := f.restOff(); o < f.tileBytes(); o += 64 {
				p("PREFETCHT0 %s", tile(pfDistAVX2(f)+o))
			}
		}
		yd16, ym16 := yraw, yd // d and the Q4_1/Q5_1 m, converted
		for hh := 0; hh < halves; hh++ {
			p("VCVTPH2PS %s, %s", ta("R15", f.dOff()+16*hh, 4), yd16)
			switch f.mins {
			case 1:
				p("VCVTPH2PS %s, %s", ta("R15", f.dOff()+2*groupCols+16*hh, 4), ym16)
			case 2:
				p("VCVTPH2PS %s, %s", ta("R15", f.dOff()+2*groupCols+16*hh, 4), ysc)
			}
			for r := 0; r < mr; r++ {
				s, a := isum(hh, r), acc(hh, r)
				p("VCVTDQ2PS %s, %s", s, s)
				p("VBROADCASTSS %d(R12), %s", r*ab, yb)
				p("VMULPS %s, %s, %s", yb, yd16, yb)
				if sh.spill {
					p("VFMADD213PS %s, %s, %s", slot(hh, r), yb, s)
					a = s
				} else {
					p("VFMADD231PS %s, %s, %s", yb, s, a)
				}
				switch f.mins {
				case 1:
					p("VBROADCASTSS %d(R12), %s", r*ab+4, yb)
					p("VFMADD231PS %s, %s, %s", yb, ym16, a)
				case 2:
					m := s
					if sh.spill {
						if sh.acc16 {
							m = w(r)
						} else {
							m = msum
						}
					}
					for pp := 0; pp < f.nsub()/2; pp++ {
						p("VPMOVZXBW %s, %s", ta("R15", f.minOff()+32*pp+16*hh, 4), yd)
						p("VPBROADCASTD %d(R12), %s", r*ab+f.bsumOff()+4*pp, yb)
						if pp == 0 {
							p("VPMADDWD %s, %s, %s", yb, yd, m)
						} else {
							p("VPMADDWD %s, %s, %s", yb, yd, yd)
							p("VPADDD %s, %s, %s", yd, m, m)
						}
					}
					p("VCVTDQ2PS %s, %s", m, m)
					p("VBROADCASTSS %d(R12), %s", r*ab, yb)
					p("VMULPS %s, %s, %s", yb, ysc, yb)
					p("VFNMADD231PS %s, %s, %s", yb, m, a)
				}
				if sh.spill {
					p("VMOVUPS %s, %s", a, slot(hh, r))
				}
			}
		}
	}
	p("ADDQ $%d, R15", f.tileBytes())
	p("ADDQ 32(AX), R12")
	p("DECQ CX")
	p("JNZ sb")
	cur = 0 // slot names group 0's slots again (storeRows)

	if ng > 1 {
		storeGroups(ng, func(hh, g int) string { return fmt.Sprintf("%d(SP)", 32*(hh*ng+g)) })
		return
	}
	sh.storeRows(acc, slot)
}

// storeGroups ends a one-row kernel over ng groups: each group's
// accumulators (frame slot(hh, g)) stored to its 16 outputs, p.ldo bytes
// after the previous group's, or added to them where gargs.accum is set;
// then the next column (gargsGroups.cols), whose tiles follow in each
// group's stream and whose outputs lie 64 bytes further.
func storeGroups(ng int, slot func(hh, g int) string) {
	y := func(hh, g int) string { return fmt.Sprintf("Y%d", 2*g+hh) }
	at := func(g, hh int) string {
		return fmt.Sprintf("%d(SI)%s", 32*hh, [4]string{"", "(DX*1)", "(DX*2)", "(BX*1)"}[g])
	}
	each := func(op func(g, hh int)) {
		for g := 0; g < ng; g++ {
			op(g, 0)
			op(g, 1)
		}
	}
	p("MOVQ 40(AX), SI")
	p("MOVQ 48(AX), DX")
	p("LEAQ (DX)(DX*2), BX")
	each(func(g, hh int) { p("VMOVUPS %s, %s", slot(hh, g), y(hh, g)) })
	p("MOVQ 64(AX), R13")
	p("TESTQ R13, R13")
	p("JZ store")
	each(func(g, hh int) { p("VADDPS %s, %s, %s", at(g, hh), y(hh, g), y(hh, g)) })
	label("store")
	each(func(g, hh int) { p("VMOVUPS %s, %s", y(hh, g), at(g, hh)) })
	p("ADDQ $64, 40(AX)")
	p("DECQ 88(AX)")
	p("JNZ col")
	p("VZEROUPPER")
	p("RET")
}

// gridTop is the largest unsigned weight gridKernel multiplies: an IQ2
// magnitude (43), or an IQ1 weight 8·g ± 1 plus 16 (25).
func (f format) gridTop() int {
	if f.deltas > 0 {
		return 25
	}
	return 43
}

// gridKernel emits the kernel of a grid format with an index per 8
// elements (IQ2_XXS, IQ2_XS, IQ2_S, IQ1_S, IQ1_M; ggml.go's gridFormat)
// of layout sh: the tiles keep the file's indices, and each 8-element
// entry is read from the grid's table of 8-byte entries (gridEntries,
// in L1: 2–16 KiB), one scalar load per column and 8 elements, as
// llama.cpp's AVX2 kernels read their grids. A tile's 32 elements
// (chunk) of 8 columns are four runs of 8; a run's entries, loaded as
// qwords [c0 c1 | c4 c5] and [c2 c3 | c6 c7], are split by VSHUFPS into
// its two quads (the dwords of elements 0–3 and 4–7), the layout the
// other kernels multiply. The IQ2 entries are the magnitudes 8, 25, 43,
// multiplied with VPMADDUBSW by the activations with the weights' signs
// (VPSIGNB: no zp term); the IQ1 entries are 8·g + 1 + 16 (g = −1, 0,
// 1), less 2 in the columns whose δ is negative, and the zp term 16·Σqa
// is the activation record's 128·Σqa shifted right by 3.
//
// General registers as kernel's, but BX the entry table, DX the index of
// the entry being loaded, and the chunk count in the frame; indices of
// more than 8 bits are assembled in vectors (the byte, and the higher
// bits from their masks, bit 4c + r: by VPSRLVD, or for two or three
// bits one VPMULLD per run) and read back from the frame — a whole
// super-block's ahead of its products below 5 rows (R10 walks them),
// else a half's ahead of its runs. Vector registers: Y15 the broadcast
// activations, Y14 the first qwords and the signs (IQ2), Y13 and Y12 the
// two quads, Y11 the scale pairs, Y10 the IQ1 δ mask; the constants used
// most go into the registers left below them.
func gridKernel(name string, f format, sh shape) {
	halves, mr := sh.halves, sh.mr
	reg := func(i int) string { return fmt.Sprintf("Y%d", i) }
	xr := func(y string) string { return "X" + y[1:] }
	isum := func(hh, r int) string { return reg(hh*mr + r) }
	acc := func(hh, r int) string { return reg(halves*mr + hh*mr + r) }
	if sh.spill {
		acc = isum
	}
	w := func(r int) string { return reg(sh.regs() - mr + r) }
	yb, ya, yB, yT, ysc, yx := "Y15", "Y14", "Y13", "Y12", "Y11", "Y10"
	if sh.regs() > 10 {
		log.Fatalf("%s: out of registers", name)
	}
	iq1 := f.deltas > 0
	// The most used constants go into the registers left (below Y10, and
	// Y10 itself without δ masks).
	var free []string
	for i := sh.regs(); i < 10; i++ {
		free = append(free, reg(i))
	}
	if !iq1 {
		free = append(free, yx)
	}
	var want []int
	if !iq1 {
		want = append(want, cBitSel, cSpread, c7F)
	}
	if f.bits > 8 {
		want = append(want, cFF)
		if f.bits == 9 {
			want = append(want, cHigh)
		}
	}
	konst := placeConsts(want, free)
	k := konst.at
	spill := 0
	if sh.spill {
		spill = 32 * halves * mr
	}
	// pre: the indices of more than 8 bits of a whole super-block are
	// assembled before its products (R10, free below 5 rows, walks them),
	// so that their loads find them in L1, not in flight in the store
	// queue (forwarding from these stores cost IQ2_XS, IQ1_S about a
	// third of their speed); with more rows, per half ahead of its runs.
	pre := f.bits > 8 && mr <= 4
	idxBytes := 128
	if pre {
		idxBytes = f.sb / 32 * halves * 128
	}
	cntSlot, idxSlot := spill, spill+8
	frame := idxSlot + idxBytes
	split := "NOSPLIT, "
	if frame > 512 {
		split = "" // beyond the nosplit limit: a stack check
	}
	slot := func(hh, r int) string { return fmt.Sprintf("%d(SP)", 32*(hh*mr+r)) }
	ab := f.auxBytes()
	step := f.gridStep()
	subs := 32 / f.sub // sub-blocks per chunk
	qsub := f.sub / 4  // quads per sub-block
	span := f.span()
	prefetch := halves == 2 && mr == 1
	ta := func(base string, disp, scale int) string {
		if halves == 1 {
			return fmt.Sprintf("%d(%s)(R14*%d)", disp, base, scale)
		}
		return fmt.Sprintf("%d(%s)", disp, base)
	}
	fmt.Fprintf(&out, "\n// func %s(p *gargsAVX2)\n", name)
	indices := func(hh int, dst func(r int) string) {
		at := func(disp, scale int) string { return ta("DI", disp, scale) }
		emitIndices(f, hh, at, k, [3]string{yb, ysc, yx}, yB, yT, ya, dst)
	}
	fmt.Fprintf(&out, "TEXT ·%s(SB), %s$%d-8\n", name, split, frame)
	p("MOVQ p+0(FP), AX")
	p("MOVQ 0(AX), R15")
	p("MOVQ 8(AX), SI")
	p("MOVQ 16(AX), R8")
	p("LEAQ (R8)(R8*2), R9")
	if !pre {
		p("LEAQ (SI)(R8*4), R10")
	}
	p("MOVQ 24(AX), R12")
	p("MOVQ 56(AX), CX")
	p("MOVQ 72(AX), BX")
	p("ADDQ $%d, BX", f.gridEntries())
	if halves == 1 {
		p("MOVQ 80(AX), R14")
	}
	sh.initAccs(acc, slot, yb)

	konst.load()

	label("sb")
	for hh := 0; hh < halves; hh++ {
		for r := 0; r < mr; r++ {
			p("VPXOR %s, %s, %s", isum(hh, r), isum(hh, r), isum(hh, r))
		}
	}
	p("MOVQ R15, DI")
	p("LEAQ %d(R15), R11", f.scOff())
	if iq1 {
		p("LEAQ 8(R12), R13")
	}
	if pre {
		p("MOVQ $%d, %d(SP)", f.sb/32, cntSlot)
		p("LEAQ %d(SP), R10", idxSlot)
		label("pre")
		for hh := 0; hh < halves; hh++ {
			indices(hh, func(r int) string { return fmt.Sprintf("%d(R10)", 128*hh+32*r) })
		}
		p("ADDQ $%d, DI", step)
		p("ADDQ $%d, R10", 128*halves)
		p("DECQ %d(SP)", cntSlot)
		p("JNZ pre")
		p("MOVQ R15, DI")
		p("LEAQ %d(SP), R10", idxSlot)
	}
	p("MOVQ $%d, %d(SP)", f.sb/32, cntSlot)
	label("chunk")
	if prefetch {
		for o := 0; o < step; o += 64 {
			p("PREFETCHT0 %d(DI)", pfDistAVX2(f)+o)
		}
		p("PREFETCHT0 %d(DI)", pfDistAVX2(f)+step-1)
	}
	// delta loads the IQ1 δ mask m of the chunk into yx: 0x02 bytes in
	// the columns whose δ is negative.
	delta := func(hh, m int) {
		p("VPBROADCASTW %d(DI), %s", f.gridBlock()+2*m, yx)
		lb := cst(cLaneBit + 32*hh)
		if halves == 1 {
			p("LEAQ %s, DX", cst(cLaneBit))
			lb = "(DX)(R14*8)"
		}
		p("VPAND %s, %s, %s", lb, yx, yx)
		p("VPCMPEQD %s, %s, %s", lb, yx, yx)
		p("VPAND %s, %s, %s", cst(cTwos), yx, yx)
	}
	for hh := 0; hh < halves; hh++ {
		if f.bits > 8 && !pre {
			indices(hh, func(r int) string { return fmt.Sprintf("%d(SP)", idxSlot+32*r) })
		}
		if f.deltas == 1 {
			delta(hh, 0)
		}
		for r := 0; r < 4; r++ {
			if 8*r%f.sub == 0 { // a sub-block starts: its (sc, sc) pairs
				p("VPMOVSXBD %s, %s", ta("R11", 16*(8*r/f.sub)+8*hh, 2), ysc)
				p("VPSLLD $16, %s, %s", ysc, yT)
				p("VPBLENDW $0xaa, %s, %s, %s", yT, ysc, ysc)
			}
			if f.deltas == 4 {
				delta(hh, r)
			}
			// The run's indices, column c's into DX.
			index := func(c int) {
				if f.bits == 8 {
					p("MOVBLZX %s, DX", ta("DI", 32*hh+4*c+r, 8))
				} else if pre {
					p("MOVL %d(R10), DX", 128*hh+32*r+4*c)
				} else {
					p("MOVL %d(SP), DX", idxSlot+32*r+4*c)
				}
			}
			pair := func(c0, c1 int, y string) {
				index(c0)
				p("VMOVQ (BX)(DX*8), %s", xr(y))
				index(c1)
				p("VPINSRQ $1, (BX)(DX*8), %s, %s", xr(y), xr(y))
			}
			pair(0, 1, ya)
			pair(4, 5, yT)
			p("VINSERTI128 $1, %s, %s, %s", xr(yT), ya, ya)
			pair(2, 3, yB)
			pair(6, 7, yT)
			p("VINSERTI128 $1, %s, %s, %s", xr(yT), yB, yB)
			p("VSHUFPS $0x88, %s, %s, %s", yB, ya, yT)
			p("VSHUFPS $0xdd, %s, %s, %s", yB, ya, yB)
			if iq1 {
				p("VPSUBB %s, %s, %s", yx, yT, yT)
				p("VPSUBB %s, %s, %s", yx, yB, yB)
			}
			for i, u := range []string{yT, yB} {
				vq := 2*r + i
				vs := vq % qsub
				if !iq1 { // the quad's signs: ≥ 0x80 where negative, else 0x7f
					p("VPBROADCASTD %s, %s", ta("DI", step-64+8*vq+4*hh, 1), ya)
					p("VPSHUFB %s, %s, %s", k(cSpread), ya, ya)
					p("VPAND %s, %s, %s", k(cBitSel), ya, ya)
					p("VPADDUSB %s, %s, %s", k(c7F), ya, ya)
				}
				for rr := 0; rr < mr; rr++ {
					p("VPBROADCASTD %s, %s", row("SI", "R10", rr, 4*vq), yb)
					if !iq1 {
						p("VPSIGNB %s, %s, %s", ya, yb, yb)
					}
					switch {
					case !sh.acc16:
						p("VPMADDUBSW %s, %s, %s", yb, u, yb)
						p("VPMADDWD %s, %s, %s", ysc, yb, yb)
						p("VPADDD %s, %s, %s", yb, isum(hh, rr), isum(hh, rr))
					case vs%span == 0:
						p("VPMADDUBSW %s, %s, %s", yb, u, w(rr))
					default:
						p("VPMADDUBSW %s, %s, %s", yb, u, yb)
						p("VPADDW %s, %s, %s", yb, w(rr), w(rr))
					}
				}
				if sh.acc16 && (vs+1)%span == 0 {
					for rr := 0; rr < mr; rr++ {
						p("VPMADDWD %s, %s, %s", ysc, w(rr), w(rr))
						p("VPADDD %s, %s, %s", w(rr), isum(hh, rr), isum(hh, rr))
					}
				}
			}
			if iq1 && (8*r+8)%f.sub == 0 { // a sub-block ends: isum −= sc·16·Σqa
				j := 8 * r / f.sub
				p("VPMOVSXBD %s, %s", ta("R11", 16*j+8*hh, 2), ya)
				for rr := 0; rr < mr; rr++ {
					p("VPBROADCASTD %d(R13), %s", rr*ab+4*j, yb)
					p("VPSRAD $3, %s, %s", yb, yb)
					p("VPMULLD %s, %s, %s", ya, yb, yb)
					p("VPSUBD %s, %s, %s", yb, isum(hh, rr), isum(hh, rr))
				}
			}
		}
	}
	p("ADDQ $%d, DI", step)
	p("ADDQ $%d, R11", 16*subs)
	if iq1 {
		p("ADDQ $%d, R13", 4*subs)
	}
	p("ADDQ $32, SI")
	if mr > 4 {
		p("ADDQ $32, R10")
	}
	if pre {
		p("ADDQ $%d, R10", 128*halves)
	}
	p("DECQ %d(SP)", cntSlot)
	p("JNZ chunk")

	// Super-block epilogue: acc += float(isum)·(d·da).
	if prefetch {
		for o := f.lowBytes(); o < f.tileBytes(); o += 64 {
			p("PREFETCHT0 %d(R15)", pfDistAVX2(f)+o)
		}
	}
	for hh := 0; hh < halves; hh++ {
		p("VCVTPH2PS %s, %s", ta("R15", f.dOff()+16*hh, 4), yT)
		for r := 0; r < mr; r++ {
			s, a := isum(hh, r), acc(hh, r)
			p("VCVTDQ2PS %s, %s", s, s)
			p("VBROADCASTSS %d(R12), %s", r*ab, yb)
			p("VMULPS %s, %s, %s", yb, yT, yb)
			if sh.spill {
				p("VFMADD213PS %s, %s, %s", slot(hh, r), yb, s)
				p("VMOVUPS %s, %s", s, slot(hh, r))
			} else {
				p("VFMADD231PS %s, %s, %s", yb, s, a)
			}
		}
	}
	p("ADDQ $%d, R15", f.tileBytes())
	p("ADDQ 32(AX), R12")
	p("DECQ CX")
	p("JNZ sb")

	sh.storeRows(acc, slot)
}

// emitIndices stores the four runs' indices of half hh of a grid chunk
// (at(disp, scale): the chunk's field at disp, a half's further by scale·4h)
// at dst(r): the byte, and each higher bit b from its mask (bit 4c + r).
// hm holds the masks (as many as the higher bits; hm[0] the bits
// combined), yB the index bytes, yT the indices, ya a temporary.
func emitIndices(f format, hh int, at func(disp, scale int) string, k func(int) string, hmr [3]string, yB, yT, ya string, dst func(r int) string) {
	{
		nb := f.bits - 8
		hm := hmr[:nb]
		yb := hm[0]
		p("VMOVDQU %s, %s", at(32*hh, 8), yB)
		for b, m := range hm {
			p("VPBROADCASTD %s, %s", at(64+8*b+4*hh, 1), m)
		}
		if nb > 1 {
			// Two or three bits: column c's four runs' bits b, from bit
			// 4c of mask b, as bits 4b + r of one dword (in yb); run r's
			// then move to 8 + b by one multiplication (the products'
			// other bits fall outside 8…8+nb−1).
			for b, m := range hm {
				p("VPSRLVD %s, %s, %s", cst(cShift), m, m)
				p("VPAND %s, %s, %s", cst(cNib), m, m)
				if b > 0 {
					p("VPSLLD $%d, %s, %s", 4*b, m, m)
					p("VPOR %s, %s, %s", m, yb, yb)
				}
			}
		}
		for r := 0; r < 4; r++ {
			p("VPSRLD $%d, %s, %s", 8*r, yB, yT)
			p("VPAND %s, %s, %s", k(cFF), yT, yT)
			if nb > 1 {
				src := yb
				if r > 0 {
					p("VPSRLD $%d, %s, %s", r, yb, ya)
					src = ya
				}
				p("VPAND %s, %s, %s", cst(cGridM1+32*(nb-2)), src, ya)
				p("VPMULLD %s, %s, %s", cst(cGridK+32*(nb-2)), ya, ya)
				p("VPAND %s, %s, %s", cst(cGridM2+32*(nb-2)), ya, ya)
				p("VPOR %s, %s, %s", ya, yT, yT)
			}
			for b, m := range hm {
				if nb > 1 {
					break
				}
				p("VPSRLVD %s, %s, %s", cst(cShift+32*r), m, ya)
				p("VPSLLD $%d, %s, %s", 8+b, ya, ya)
				p("VPAND %s, %s, %s", k(cHigh+32*b), ya, ya)
				p("VPOR %s, %s, %s", ya, yT, yT)
			}
			p("VMOVDQU %s, %s", yT, dst(r))
		}
	}
}

// gridExpand emits the expansion of n grid tiles (gexpand) of a format
// with an index per 8 elements into its wide tiles (ggml.go's
// expandGridGeneric): per run of 8 elements and half of 8 columns, the
// entries' 4-bit codes (gridNibs: 4 bytes each, low code t and high code
// t + 4) gathered by scalar loads into a ymm, which is the wide tile's
// 32 bytes of that step and half, with the signs (bit 2 of each code,
// from the quad masks) or the IQ1 δ ORed in; then the scales and d,
// laid out alike.
//
// Registers: DI the source tile, R8 the destination tile, CX tiles left,
// R9 the chunk, R10 its 256 bytes of wide codes, R11 chunks left, BX the
// code table, DX the entry's index.
func gridExpand(name string, f format) {
	const yA, yB, yT, ya, yb, ysc, yx = "Y0", "Y1", "Y2", "Y3", "Y4", "Y5", "Y6"
	step := f.gridStep()
	frame := 128
	fmt.Fprintf(&out, "\n// func %s(p *gexpand)\n", name)
	fmt.Fprintf(&out, "TEXT ·%s(SB), NOSPLIT, $%d-8\n", name, frame)
	p("MOVQ p+0(FP), AX")
	p("MOVQ 0(AX), R8")
	p("MOVQ 8(AX), DI")
	p("MOVQ 16(AX), CX")
	p("MOVQ 24(AX), BX")
	p("ADDQ $%d, BX", f.gridNibs())
	label("tile")
	p("MOVQ DI, R9")
	p("MOVQ R8, R10")
	p("MOVQ $%d, R11", f.sb/32)
	label("chunk")
	at := func(disp, scale int) string { return fmt.Sprintf("%d(R9)", disp) }
	for hh := 0; hh < 2; hh++ {
		if f.bits > 8 {
			emitIndices(f, hh, at, cst, [3]string{yb, ysc, yx}, yB, yT, ya, func(r int) string { return fmt.Sprintf("%d(SP)", 32*r) })
		}
		for r := 0; r < 4; r++ {
			index := func(c int) {
				if f.bits == 8 {
					p("MOVBLZX %d(R9), DX", 32*hh+4*c+r)
				} else {
					p("MOVL %d(SP), DX", 32*r+4*c)
				}
			}
			for h, y := range []string{yA, yT} {
				for c := 0; c < 4; c++ {
					index(4*h + c)
					if c == 0 {
						p("VMOVD (BX)(DX*4), X%s", y[1:])
					} else {
						p("VPINSRD $%d, (BX)(DX*4), X%s, X%s", c, y[1:], y[1:])
					}
				}
			}
			p("VINSERTI128 $1, X%s, %s, %s", yT[1:], yA, yA)
			if f.deltas > 0 { // 0x44 in the columns of negative δ
				m := r * f.deltas / 4
				p("VPBROADCASTW %d(R9), %s", f.gridBlock()+2*m, yx)
				p("VPAND %s, %s, %s", cst(cLaneBit+32*hh), yx, yx)
				p("VPCMPEQD %s, %s, %s", cst(cLaneBit+32*hh), yx, yx)
				p("VPAND %s, %s, %s", cst(c44), yx, yx)
				p("VPOR %s, %s, %s", yx, yA, yA)
			} else {
				for i, bit := range []int{c04, c40} { // quads 2r and 2r + 1
					p("VPBROADCASTD %d(R9), %s", step-64+8*(2*r+i)+4*hh, yx)
					p("VPSHUFB %s, %s, %s", cst(cSpread), yx, yx)
					p("VPAND %s, %s, %s", cst(cBitSel), yx, yx)
					p("VPCMPEQB %s, %s, %s", cst(cBitSel), yx, yx)
					p("VPAND %s, %s, %s", cst(bit), yx, yx)
					p("VPOR %s, %s, %s", yx, yA, yA)
				}
			}
			p("VMOVDQU %s, %d(R10)", yA, 64*r+32*hh)
		}
	}
	p("ADDQ $%d, R9", step)
	p("ADDQ $256, R10")
	p("DECQ R11")
	p("JNZ chunk")
	// The scales and d: the rest of the tile, after the codes.
	wideSc := f.sb * groupCols * 4 / 8
	for o := 0; o < f.tileBytes()-f.scOff(); o += 32 {
		p("VMOVDQU %d(DI), %s", f.scOff()+o, yA)
		p("VMOVDQU %s, %d(R8)", yA, wideSc+o)
	}
	p("ADDQ $%d, DI", f.tileBytes())
	p("ADDQ $%d, R8", wideSc+f.tileBytes()-f.scOff())
	p("DECQ CX")
	p("JNZ tile")
	p("VZEROUPPER")
	p("RET")
}

// pfDistAVX2 returns how far ahead of the tile being read (bytes, in each
// group's stream) the AVX2 and AVX-VNNI one-row kernels of format f
// prefetch: 2 KiB for the 32-element formats, 4 KiB for the super-block
// ones. On the 2-vCPU EPYC of docs/PERFORMANCE.md, a 262144 × 640 product
// against a paired streaming read, two passes on each tier, Q4_0, Q8_0,
// Q4_1, Q5_0 and IQ4_NL read at 84 % of the read on average at one thread
// 2 KiB ahead (85 % at 1 KiB) against 78 % at 4 KiB, and at 85 % at two
// threads (84 % at both others).
func pfDistAVX2(f format) int {
	if f.sb == 32 {
		return 2048
	}
	return 4096
}
