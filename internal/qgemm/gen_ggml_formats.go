//go:build ignore

// gen_ggml_formats holds what the super-block kernel generators
// (gen_ggml_asm.go, gen_ggml_avx2.go, gen_ggml_arm64.go) share: ggml.go's
// format table and tile geometry, which a generator cannot import from the
// package it writes. Each generator is run together with this file.
package main

const groupCols = 16

// format mirrors ggml.go's format.
type format struct {
	name string // the kernels' names, and the quant.Type constant of format.kern
	// kern: the Go constant of format.kern where it is not quant.<name>
	// (kernCodes16).
	kern      string
	low, high int
	plane2    bool // the two extra bits as a 2-bit code plane (ggml.go)
	chunked   bool // with interleavePlanes: chunk (ggml.go's format.chunked)
	// plane1: the extra bit as a 1-bit code plane (ggml.go's
	// plane1Format), listed last; no NEON kernels, and Q3_K's only on
	// AVX2 and AVX-VNNI (avx2Only).
	plane1    bool
	lut       bool
	zp        int
	sb, sub   int
	subScales bool
	mins      int // 0 none, 1 half (Q4_1/Q5_1), 2 per sub-block
	// grid: the tiles keep the file's grid indices and sign bits
	// (ggml.go's gridFormat); AVX-512 VBMI kernels only, listed last so
	// that the other generators, which skip them, keep their indices.
	grid bool
	// avx512: AVX-512 kernels only (listed last, as the grids).
	avx512 bool
	bits   int // grid formats: bits of an index (8–11)
	// quad: a grid index per 4 elements, 8 magnitudes (IQ3_XXS; ggml.go's
	// gridFormat3).
	quad bool
	// split: a 9-bit grid index per 4 elements whose entry's four 3-bit
	// codes the tables give as two 6-bit halves (IQ3_S; ggml.go's
	// gridFormat3S).
	split bool
	// deltas: the IQ1 grids' 16-bit masks of negative shifts per 32
	// elements (1: IQ1_S, 4: IQ1_M, one per 8), in place of sign masks
	// (ggml.go's gridTable.deltas).
	deltas int
}

// avx512Only reports a format only gen_ggml_asm.go writes kernels for.
func (f format) avx512Only() bool { return f.grid || f.avx512 }

// avx2Only reports a format only gen_ggml_avx2.go writes kernels for:
// Q3_K's plane1 form, whose 1-bit steps hold two sub-blocks.
func (f format) avx2Only() bool { return f.plane1 && f.sub < 32 }

// hasAVX512Kernels reports a format gen_ggml_asm.go writes kernels for.
func (f format) hasAVX512Kernels() bool { return !f.avx2Only() }

// avx2Grid reports a grid format gen_ggml_avx2.go writes kernels for: an
// index per 8 elements (not IQ3_XXS's or IQ3_S's per 4).
func (f format) avx2Grid() bool { return f.grid && !f.quad && !f.split }

// gridEntries is the offset of the AVX2 grid kernels' table of 8-byte
// entries in the grid's kernel table (ggml.go's gridTable.kern).
func (f format) gridEntries() int { return 2<<f.bits + 1024 }

// gridNibs is the offset of the AVX2 expansion's table in the grid's
// kernel table (ggml.go's gridFormat: per entry its 4-bit codes as 4
// bytes of the wide tiles).
func (f format) gridNibs() int { return f.gridEntries() + 8<<f.bits }

// kernConst is the Go constant the dispatch switches take for f.
func (f format) kernConst() string {
	if f.kern != "" {
		return f.kern
	}
	return "quant." + f.name
}

// gridBlock is the bytes of one block of 64 grid indices in a tile: the
// index bytes and a mask per index bit above 8 (IQ3_XXS's blocks have no
// masks).
func (f format) gridBlock() int { return 64 + 8*(f.bits-8) }

// gridStep is the bytes of 32 elements of a grid tile: its blocks of
// indices (two for the formats with an index per quad, IQ3_XXS and IQ3_S),
// then 8 sign masks (the IQ1 grids: their delta masks).
func (f format) gridStep() int {
	switch {
	case f.quad || f.split:
		return 2*f.gridBlock() + 64
	case f.deltas > 0:
		return f.gridBlock() + 2*f.deltas
	}
	return f.gridBlock() + 64
}

var formats = []format{
	{name: "Q4_0", low: 4, zp: 8, sb: 32, sub: 32},
	{name: "Q8_0", low: 8, zp: 128, sb: 32, sub: 32},
	{name: "Q4_1", low: 4, sb: 32, sub: 32, mins: 1},
	{name: "Q5_0", low: 4, high: 1, zp: 16, sb: 32, sub: 32},
	{name: "Q5_1", low: 4, high: 1, sb: 32, sub: 32, mins: 1},
	{name: "IQ4_NL", low: 4, lut: true, zp: 128, sb: 32, sub: 32},
	{name: "Q2_K", low: 2, sb: 256, sub: 16, subScales: true, mins: 2},
	{name: "Q3_K", low: 2, high: 1, zp: 4, sb: 256, sub: 16, subScales: true, chunked: true},
	{name: "Q4_K", low: 4, sb: 256, sub: 32, subScales: true, mins: 2},
	{name: "Q5_K", low: 4, high: 1, sb: 256, sub: 32, subScales: true, mins: 2, chunked: true},
	{name: "Q6_K", low: 4, high: 2, plane2: true, zp: 32, sb: 256, sub: 16, subScales: true, chunked: true},
	{name: "IQ4_XS", low: 4, lut: true, zp: 128, sb: 256, sub: 32, subScales: true},
	// IQ4_XS's layout with a scale per 16 elements: the kernels of the
	// types held as table codes with such scales (IQ2_XS, IQ2_S and IQ1_M
	// without grid kernels, and their grids' expansions; ggml.go's
	// kernCodes16), whose levels are small enough (codes16Top) for the
	// AVX2 kernels to add two vectors' pair sums in int16.
	{name: "Codes16", kern: "kernCodes16", low: 4, lut: true, zp: 128, sb: 256, sub: 16, subScales: true},
	// The ternary types, TQ2_0's 2-bit codes q (y = d·(q − 1)) and TQ1_0's
	// base-3 digits, as one plane of 2-bit codes (ggml.go's formats).
	{name: "TQ2_0", low: 2, zp: 1, sb: 256, sub: 256},
	{name: "IQ2_XXS", grid: true, bits: 8, low: 2, zp: 128, sb: 256, sub: 32, subScales: true},
	{name: "IQ2_XS", grid: true, bits: 9, low: 2, zp: 128, sb: 256, sub: 16, subScales: true},
	{name: "IQ2_S", grid: true, bits: 10, low: 2, zp: 128, sb: 256, sub: 16, subScales: true},
	{name: "IQ3_XXS", grid: true, quad: true, bits: 8, low: 2, zp: 128, sb: 256, sub: 32, subScales: true},
	{name: "IQ3_S", grid: true, split: true, bits: 9, low: 2, zp: 128, sb: 256, sub: 32, subScales: true},
	{name: "IQ1_S", grid: true, bits: 11, deltas: 1, low: 2, zp: 128, sb: 256, sub: 32, subScales: true},
	{name: "IQ1_M", grid: true, bits: 11, deltas: 4, low: 2, zp: 128, sb: 256, sub: 16, subScales: true},
	// The i-quants of at most 8 levels (IQ2_*, IQ1_*) held as 3-bit table
	// codes, Q3_K's planes, with a scale per 32 or 16 elements (ggml.go's
	// kernCodes3, kernCodes3x16); AVX-512 only, as the grids: the AVX2
	// kernels' extra-bit decode made them 0.6× the 4-bit codes' speed.
	{name: "Codes3", kern: "kernCodes3", avx512: true, low: 2, high: 1, lut: true, zp: 128, sb: 256, sub: 32, subScales: true},
	{name: "Codes3x16", kern: "kernCodes3x16", avx512: true, low: 2, high: 1, lut: true, zp: 128, sb: 256, sub: 16, subScales: true},
	// Q5_0, Q5_1, Q5_K and Q3_K with the extra bit as 1-bit codes
	// (ggml.go's plane1Format), the form AVX2 CPUs without AVX-512 hold
	// them in.
	{name: "Q5_0P", kern: "kernQ5_0P", plane1: true, low: 4, high: 1, zp: 16, sb: 32, sub: 32},
	{name: "Q5_1P", kern: "kernQ5_1P", plane1: true, low: 4, high: 1, sb: 32, sub: 32, mins: 1},
	{name: "Q5_KP", kern: "kernQ5_KP", plane1: true, low: 4, high: 1, sb: 256, sub: 32, subScales: true, mins: 2, chunked: true},
	{name: "Q3_KP", kern: "kernQ3_KP", plane1: true, low: 2, high: 1, zp: 4, sb: 256, sub: 16, subScales: true},
}

func (f format) nsub() int { return f.sb / f.sub }

// plane1Matrix is the GF2P8AFFINEQB bit matrix that moves bit q of every
// byte (quad q's extra bit in a plane1 step) to bit low and clears the
// others: output bit o takes the parity of the input masked by byte 7−o
// of the matrix.
func plane1Matrix(q, low int) uint64 {
	return uint64(1) << q << (8 * (7 - low))
}

// plane2Matrix is the GF2P8AFFINEQB bit matrix that moves bits 2q and
// 2q+1 of every byte (quad q's extra bits in a plane2 step, Q6_K) to bits
// 4 and 5 and clears the others (both amd64 generators).
func plane2Matrix(q int) uint64 { return plane1Matrix(2*q, 4) | plane1Matrix(2*q+1, 5) }

// interleavePlanes is set by the amd64 generators, whose kernels read the
// chunked formats' tiles with each sub-block's codes and extra bits
// together (ggml.go's chunkedTiles).
var interleavePlanes bool

// subLow and subHigh are the bytes of one sub-block's low codes and
// extra-bit codes.
func (f format) subLow() int  { return f.sub * groupCols * f.low / 8 }
func (f format) subHigh() int { return f.sub / 4 * f.high * 8 }

// chunk is subLow + subHigh where a tile interleaves the two sub-block by
// sub-block (chunked with interleavePlanes; ggml.go's format.chunk), else 0.
func (f format) chunk() int {
	if f.chunked && interleavePlanes {
		return f.subLow() + f.subHigh()
	}
	return 0
}

// chunkLines is how many lines a one-row kernel prefetches after the low
// codes' lines (one per 64-byte step) of sub-block rep of a loop
// iteration, so that its prefetch pointer keeps up with the chunks (rounded
// up: with one sub-block per iteration and chunks that are not whole lines
// it runs ahead within the super-block). 0 without chunks.
func (f format) chunkLines(rep int) int {
	c := f.chunk()
	if c == 0 {
		return 0
	}
	up := func(n int) int { return (n + 63) / 64 }
	return up((rep+1)*c) - up(rep*c) - f.subLow()/64
}

// restOff is where the tile's data after the codes and extra bits starts:
// what the kernels prefetch at the end of a super-block (all of the extra
// bits too where they are not interleaved with the codes).
func (f format) restOff() int {
	if f.chunk() > 0 {
		return f.scOff()
	}
	return f.lowBytes()
}

func (f format) lowBytes() int {
	if f.grid {
		return f.sb / 32 * f.gridStep()
	}
	return f.sb * groupCols * f.low / 8
}
func (f format) highBytes() int { return f.high * f.sb * groupCols / 8 }
func (f format) scOff() int     { return f.lowBytes() + f.highBytes() }
func (f format) minOff() int {
	if f.subScales {
		return f.scOff() + f.nsub()*groupCols
	}
	return f.scOff()
}
func (f format) dOff() int {
	if f.mins == 2 {
		return f.minOff() + f.nsub()*groupCols
	}
	return f.minOff()
}
func (f format) tileBytes() int {
	n := f.dOff() + 2*groupCols
	if f.mins != 0 {
		n += 2 * groupCols
	}
	return n
}
func (f format) auxBytes() int {
	n := 8
	if f.zp != 0 {
		n += 4 * f.nsub()
	}
	if f.mins == 2 {
		n += 2 * f.nsub()
	}
	return n
}
func (f format) bsumOff() int {
	if f.zp != 0 {
		return 8 + 4*f.nsub()
	}
	return 8
}

// loadGargs loads a super-block kernel's pointers from its gargs (AX):
// the activation rows SI and R10 (rows 0 and 4, stride R8, R9 = 3·R8),
// their records R12 and the super-block count CX. The amd64 generators'.
func loadGargs() {
	p("MOVQ 8(AX), SI")
	p("MOVQ 16(AX), R8")
	p("LEAQ (R8)(R8*2), R9")
	p("LEAQ (SI)(R8*4), R10")
	p("MOVQ 24(AX), R12")
	p("MOVQ 56(AX), CX")
}
