package qgemm

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
	"runtime"
	"slices"
	"sync/atomic"
	"unsafe"

	"github.com/zerfoo/zerfoo/gguf/quant"
	"github.com/zerfoo/zerfoo/internal/mmap"
	"github.com/zerfoo/zerfoo/internal/tune"
	"github.com/zerfoo/zerfoo/internal/workerpool"
	"github.com/zerfoo/zerfoo/numeric"
)

// This file holds the super-block family: the ggml block types whose
// weights are y = d·sc·(u − zp) − dmin·m (legacy Q4_1, Q5_0, Q5_1, IQ4_NL
// and the K-quants Q2_K … Q6_K, IQ4_XS), repacked once into tiles that the
// int8 kernels of ggml_kernel.go multiply with llama.cpp's activation
// rounding (Q8_0/Q8_1 blocks for the legacy types, Q8_K for the rest).

// act is the activation type llama.cpp pairs with a weight type
// (vec_dot_type).
type act int

const (
	actQ8_0 act = iota // d = fp16(amax/127), q = rint(x·127/amax)
	actQ8_1            // Q8_0 plus s = fp16(d·Σq), d unrounded
	actQ8_K            // 256-blocks, d = max/−127 (float32), bsums
)

// mins says how a format's offsets enter the dot product.
const (
	minsNone = iota
	minsHalf // Q4_1, Q5_1: + m·s per 32-block (fp16 m, Q8_1 s)
	minsSub  // K-quants: − dmin·da·Σ_sub m_sub·bsum_sub
)

// format describes how a ggml type maps onto the super-block kernels.
type format struct {
	t quant.Type
	// kern is the type whose generated kernels multiply t's tiles (t
	// itself, or a type with the same tile layout and another table).
	kern      quant.Type
	low, high int // bits of the interleaved code plane (2, 4, 8) and extra bit planes (0–2)
	// plane2: the two extra bits are a second interleaved code plane of
	// 2-bit fields (as a 2-bit low plane is laid out) instead of two
	// 64-bit masks per vector, so that a kernel moves them into place
	// with a shift or an affine bit transform (Q6_K).
	plane2 bool
	// chunked: each sub-block's low codes are followed by its extra bits
	// (chunk; Q3_K, Q5_K, Q5_K's plane1 form and Q6_K on amd64:
	// chunkedTiles).
	chunked bool
	// plane1: the extra bit is a second interleaved code plane of 1-bit
	// fields (one 64-byte step per 32 elements, quad i of it in bit i)
	// instead of a 64-bit mask per vector, so that a kernel moves it into
	// place with a shift and a mask (AVX2) or one GF2P8AFFINEQB (AVX-512)
	// (plane1Format, ggmlPlane1Types).
	plane1    bool
	lut       *lutTable // codes index this table of levels (then zp is 128)
	zp        int32
	sb, sub   int  // super-block size (elements per d) and sub-block size
	subScales bool // int8 scale per sub-block and column
	mins      int
	act       act
	// grid: the tiles keep the file's grid indices (gridFormat) instead
	// of codes; lut then holds the signed levels of its codes
	// (gridCode).
	grid *gridTable
	// dscale is the power of two the weights carry besides d and the
	// sub-block scales (quant.CodeScale; 1 for the others), applied to
	// the activations' scale da, which each product quantizes for its
	// matrix: d·(da·dscale) is d·da·dscale exactly, as ggml's float32
	// products round it.
	dscale float32
}

// ErrInexact is wrapped by PackGGML's error for a matrix of a type held
// as codes (quant.Codes) with a block its tiles cannot hold exactly (a
// scale that is not finite): such a matrix needs another path.
var ErrInexact = errors.New("qgemm: block not representable exactly")

// The i-quants without kernels of their own, whose values are small
// integer codes times scales (quant.Codes), are held as indices into a
// table of their levels (codeFormat): 4-bit ones in the tiles of IQ4_XS
// (a scale per 32 elements, 4.31 bits per weight) or, where a type has a
// scale per 16 elements, of the same layout with 16 sub-blocks
// (kernCodes16, 4.56), and on AVX-512 CPUs, for the types of at most 8
// levels, 3-bit ones in Q3_K's planes (3.31 or 3.56): 1.25–2.8 times the
// files' 1.56–3.44, not their size, but the kernels of IQ4_XS and Q3_K.
// On CPUs with AVX-512 VBMI, every one of them keeps its grid indices
// instead (gridFormat, gridFormat3, gridFormat3S: 1.72–3.56 bits per
// weight, 1.04–1.18 times the files'), and the table codes are
// PackOptions.Speed's form of the types whose grid kernels are slower; on
// the other AVX2 CPUs the types with an index per 8 elements (IQ2_XXS,
// IQ2_XS, IQ2_S, IQ1_S, IQ1_M) keep theirs for the AVX2 grid kernels,
// with the table codes as the faster form of all five.
var formats = func() map[quant.Type]*format {
	fs := map[quant.Type]*format{
		quant.Q4_0:   {low: 4, zp: 8, sb: 32, sub: 32, act: actQ8_0},
		quant.Q8_0:   {low: 8, zp: 128, sb: 32, sub: 32, act: actQ8_0},
		quant.Q4_1:   {low: 4, sb: 32, sub: 32, mins: minsHalf, act: actQ8_1},
		quant.Q5_0:   {low: 4, high: 1, zp: 16, sb: 32, sub: 32, act: actQ8_0},
		quant.Q5_1:   {low: 4, high: 1, sb: 32, sub: 32, mins: minsHalf, act: actQ8_1},
		quant.IQ4_NL: {low: 4, lut: lutIQ4, zp: 128, sb: 32, sub: 32, act: actQ8_0},
		quant.Q2_K:   {low: 2, sb: 256, sub: 16, subScales: true, mins: minsSub, act: actQ8_K},
		quant.Q3_K:   {low: 2, high: 1, zp: 4, sb: 256, sub: 16, subScales: true, act: actQ8_K},
		quant.Q4_K:   {low: 4, sb: 256, sub: 32, subScales: true, mins: minsSub, act: actQ8_K},
		quant.Q5_K:   {low: 4, high: 1, sb: 256, sub: 32, subScales: true, mins: minsSub, act: actQ8_K},
		quant.Q6_K:   {low: 4, high: 2, plane2: true, zp: 32, sb: 256, sub: 16, subScales: true, act: actQ8_K},
		quant.IQ4_XS: {low: 4, lut: lutIQ4, zp: 128, sb: 256, sub: 32, subScales: true, act: actQ8_K},
		// The ternary types as 2-bit codes q, y = d·(q − 1): TQ2_0's own
		// (2.06 bits per weight, the file's), TQ1_0's base-3 digits in the
		// same tiles (2.06 for the file's 1.69).
		quant.TQ2_0: {low: 2, zp: 1, sb: 256, sub: 256, act: actQ8_K},
		quant.TQ1_0: {kern: quant.TQ2_0, low: 2, zp: 1, sb: 256, sub: 256, act: actQ8_K},
	}
	for _, t := range []quant.Type{quant.Q3_K, quant.Q5_K, quant.Q6_K} {
		fs[t].chunked = chunkedType(t)
	}
	for _, t := range []quant.Type{quant.IQ3_S, quant.IQ3_XXS, quant.IQ2_XXS, quant.IQ2_XS, quant.IQ2_S,
		quant.IQ1_S, quant.IQ1_M} {
		fs[t] = codeFormat(fs[quant.IQ4_XS], t, ggmlCodes3)
	}
	if ggmlGridKernels || ggmlGridAVX2 {
		for _, t := range []quant.Type{quant.IQ2_XXS, quant.IQ2_XS, quant.IQ2_S, quant.IQ1_S, quant.IQ1_M} {
			fs[t] = gridFormat(t)
		}
	}
	if ggmlGridKernels {
		fs[quant.IQ3_XXS] = gridFormat3(quant.IQ3_XXS)
		fs[quant.IQ3_S] = gridFormat3S(quant.IQ3_S)
	}
	for _, t := range ggmlPlane1Types {
		fs[t] = plane1Format(t, fs[t])
	}
	for t, f := range fs {
		f.t = t
		if f.kern == 0 {
			f.kern = t
		}
		if f.dscale == 0 {
			f.dscale = 1
		}
	}
	return fs
}()

// kernCodes16 names the kernels of the table-code tiles with a scale per
// 16 elements (IQ4_XS's layout with 16 sub-blocks), which the grid tiles
// of IQ2_XS, IQ2_S and IQ1_M expand into; kernCodes3 and kernCodes3x16
// those of 3-bit table codes (Q3_K's planes, a scale per 32 or 16
// elements: codeFormat). They are no ggml types: format.kern only tells
// kernels apart, and IQ1_M's grid kernels carry IQ1_M.
//
// codes16Top bounds the levels of every format of kernCodes16 (the
// i-quants' at most 43 in magnitude): the AVX2 kernels add two vectors'
// VPMADDUBSW pair sums in int16, 2·2·64·127 < 2^15 (TestCodes16Levels).
const codes16Top = 64

const (
	kernCodes16 quant.Type = 1<<16 + iota
	kernCodes3
	kernCodes3x16
	kernQ5_0P
	kernQ5_1P
	kernQ5_KP
	kernQ3_KP
)

// plane1Format returns f, the format of t (Q5_0, Q5_1, Q5_K or Q3_K, the
// types with one extra bit per element), with that bit as a 1-bit code
// plane (format.plane1; kernels kernQ5_0P, kernQ5_1P, kernQ5_KP,
// kernQ3_KP), the form the AVX2 and AVX-VNNI kernels decode with a shift
// and a mask per vector instead of spreading a mask's bits to bytes (a
// broadcast, a shuffle, a test and a mask): their one-row products are
// bound by that decoding. The AVX-512 kernels (Q5_0, Q5_1, Q5_K; they
// need GFNI) move a vector's bit into place with one GF2P8AFFINEQB instead
// of a mask load and a masked add. The tiles are as large as f's.
func plane1Format(t quant.Type, f *format) *format {
	g := *f
	g.t, g.plane1 = t, true
	// Q3_K's 1-bit steps hold two 16-element sub-blocks' bits: not chunked.
	g.chunked = g.chunked && f.sub >= 32
	switch t {
	case quant.Q5_0:
		g.kern = kernQ5_0P
	case quant.Q5_1:
		g.kern = kernQ5_1P
	case quant.Q5_K:
		g.kern = kernQ5_KP
	case quant.Q3_K:
		g.kern = kernQ3_KP
	default:
		panic("qgemm: no plane1 form of " + t.String())
	}
	return &g
}

// gridTable is a grid of 8-element patterns (quant.Grid) as 2-bit codes:
// bits 2j–2j+1 of words[i] are element j of entry i's magnitude's index in
// gridLevels (IQ2 grids), or its value + 1 (IQ1 grids: −1, 0, 1).
type gridTable struct {
	words []uint16
	bits  int // of an index: 8 (IQ2_XXS), 9 (IQ2_XS), 10 (IQ2_S) or 11 (IQ1_S, IQ1_M)
	// deltas: the IQ1 grids have no signs but a shift δ = ±1/8 per 32
	// (IQ1_S) or 8 (IQ1_M) elements of a column: 32 elements of a tile
	// hold, after their index block, deltas (1 or 4) 16-bit masks of the
	// columns whose δ is negative (bit c), instead of sign masks.
	deltas int
	// quad: an index per 4 elements whose entries are 4 of the 8
	// magnitudes grid3Levels, as 3-bit codes in words (IQ3_XXS; gridFormat3).
	quad bool
	// split: an index per 4 elements whose entry is 4 odd magnitudes
	// 2c+1, as 3-bit codes c in words, which the kernels look up as two
	// halves of two nibbles (IQ3_S; gridFormat3S).
	split bool
	// step is the bytes of 32 elements of the 16 columns in a tile: one
	// block (two for the formats with an index per quad) of 64 index
	// bytes and bits−8 masks of their higher bits (8 each; none for
	// IQ3_XXS), then the 8 sign masks (64: signs).
	step int
	// kern is what the kernels look up, 64-byte aligned: the words' low
	// bytes at 0 and high bytes at 2^bits; at 2^(bits+1) + 64·g the
	// VPMULTISHIFTQB control that moves the codes in byte g of every
	// dword (column c's index for elements 8g…8g+7, after the lookup) to
	// bytes 0–3 of that dword, two bits per byte; 256 bytes later the
	// unsigned level 128 + magnitude by a byte's low two bits (VPERMB);
	// the IQ1 grids' further tables follow (gridFormat), and their kernels
	// take the high bytes from those (iq1High), not from 2^bits.
	kern []uint8
	// wide is the format the tiles expand into for products of several
	// row tiles (expandGrid): IQ4_XS's layout (with f.sub-element scale
	// blocks), whose 4-bit codes index the grid format's lut (gridCode's
	// codes), so that each tile is decoded once per product instead of
	// once per 8 rows. Both give the same integer sums and so the same
	// floats.
	wide *format
}

// signs is the offset of the 8 sign masks (one per quad) in 32 elements
// of a grid tile: every grid format with signs ends its step with them.
func (g *gridTable) signs() int { return g.step - 64 }

// deltaOff is the offset of an IQ1 grid's delta masks in 32 elements of
// a tile: after the index block.
func (g *gridTable) deltaOff() int { return 64 + 8*(g.bits-8) }

// aligned64 returns n zero bytes that start on a 64-byte boundary (the
// kernels' tables: a 64-byte load from them never splits a cache line).
func aligned64(n int) []uint8 {
	buf := make([]uint8, n+63)
	o := (64 - int(uintptr(unsafe.Pointer(&buf[0]))%64)) % 64
	return buf[o : o+n : o+n]
}

// gridLevels are the magnitudes of the IQ2 grids.
var gridLevels = [3]int8{8, 25, 43}

// grid3Levels are the magnitudes of IQ3_XXS's grid: 8·c + 4, and 62.
var grid3Levels = [8]int8{4, 12, 20, 28, 36, 44, 52, 62}

// gridFormat3 returns the format that keeps IQ3_XXS's grid indices (an
// index per 4 elements, whose entry is 4 of the magnitudes grid3Levels)
// where this CPU has kernels that look them up (ggmlGridKernels). A tile
// holds, per 32 elements of the 16 columns, two blocks of 64 index bytes
// (quads 0–3, then 4–7 of the 32 elements: byte 16·(c/4) + 4·g + c%4 of
// block h is column c's index for quad 4h + g, the order in which a 4×4
// byte transpose of the looked-up magnitudes leaves each quad's 16
// columns in place), then one 64-bit sign mask per quad (the file's 7
// sign bits per 8 elements and their parity), then as the table-code
// tiles the int8 scales 2s+1 and d: 3.31 bits per weight against the
// file's 3.06 (the table codes take 4.31). The weights are
// d·(2s+1)·grid·sign/4, as ggml computes them (d·(0.5+s)·0.5·grid).
//
// The kernels' table (gridTable.kern) holds, per element t of an entry,
// the 256 entries' unsigned levels 128 + magnitude at 256·t.
func gridFormat3(t quant.Type) *format {
	entries := quant.Grid4(t)
	if len(entries) != 256 {
		panic(fmt.Sprintf("qgemm: %v: grid of %d entries", t, len(entries)))
	}
	g := &gridTable{words: make([]uint16, 256), bits: 8, quad: true, step: 192}
	g.kern = aligned64(1024)
	for i, e := range entries {
		for j := 0; j < 4; j++ {
			m := int8(e >> (8 * j))
			c := slices.Index(grid3Levels[:], m)
			if c < 0 {
				panic(fmt.Sprintf("qgemm: %v: grid entry %d holds %d", t, i, uint8(m)))
			}
			g.words[i] |= uint16(c) << (3 * j)
			g.kern[256*j+i] = uint8(128 + int(m))
		}
	}
	var levels [16]int8
	for c, m := range grid3Levels {
		levels[c], levels[8+c] = m, -m
	}
	f := &format{t: t, kern: t, low: 2, grid: g, zp: 128, sb: 256, sub: 32, subScales: true, act: actQ8_K,
		lut: newLUT(levels[:]), dscale: 0.25}
	g.wide = &format{t: t, kern: quant.IQ4_XS, low: 4, lut: f.lut, zp: 128, sb: 256, sub: 32, subScales: true,
		act: actQ8_K, dscale: f.dscale}
	return f
}

// gridFormat3S returns the format that keeps IQ3_S's 9-bit grid indices
// (an index per 4 elements, whose entry is 4 odd magnitudes 1…15) where
// this CPU has kernels that look them up (ggmlGridKernels). A tile holds,
// per 32 elements of the 16 columns, two blocks of 64 index bytes (block h
// holds quads 4h…4h+3: byte splitPos(c, g) is column c's index for quad
// 4h + g), each followed by a 64-bit mask of the indices' ninth bits (bit
// splitPos(c, g)), then one 64-bit sign mask per quad (bit 4c + t: element
// t of column c is negative), then as the table-code tiles the int8 scales
// 2s+1 and d: 3.56 bits per weight against the file's 3.44 (the table
// codes take 4.31). The weights are d·(2s+1)·grid·sign, as ggml computes
// them.
//
// The kernels' table (gridTable.kern) holds each entry's magnitudes as
// nibbles, elements 0 and 1 at 0 (low nibble first), 2 and 3 at 512; the
// two VPMULTISHIFTQB controls at 1024 and 1088 (splitCtrl); 64 bytes of
// 0x0f at 1152 and of 0x80 at 1216.
func gridFormat3S(t quant.Type) *format {
	entries := quant.Grid4(t)
	const n = 512
	if len(entries) != n {
		panic(fmt.Sprintf("qgemm: %v: grid of %d entries", t, len(entries)))
	}
	g := &gridTable{words: make([]uint16, n), bits: 9, split: true, step: 2*splitBlock + 64}
	g.kern = aligned64(2*n + 256)
	for i, e := range entries {
		for j := 0; j < 4; j++ {
			m := uint8(e >> (8 * j))
			if m%2 == 0 || m > 15 {
				panic(fmt.Sprintf("qgemm: %v: grid entry %d holds %d", t, i, m))
			}
			g.words[i] |= uint16(m/2) << (3 * j)
			g.kern[n*(j/2)+i] |= m << (4 * (j % 2))
		}
	}
	for s := 0; s < 2; s++ {
		for b := 0; b < 64; b++ {
			g.kern[2*n+64*s+b] = splitCtrl(s, b)
		}
	}
	for b := 0; b < 64; b++ {
		g.kern[2*n+128+b], g.kern[2*n+192+b] = 0x0f, 0x80
	}
	var levels [16]int8
	for c := 0; c < 8; c++ {
		levels[c], levels[8+c] = int8(2*c+1), -int8(2*c+1)
	}
	f := &format{t: t, kern: t, low: 2, grid: g, zp: 128, sb: 256, sub: 32, subScales: true, act: actQ8_K,
		lut: newLUT(levels[:]), dscale: 1}
	g.wide = &format{t: t, kern: quant.IQ4_XS, low: 4, lut: f.lut, zp: 128, sb: 256, sub: 32, subScales: true,
		act: actQ8_K, dscale: f.dscale}
	return f
}

// iq1High writes the tables by which the IQ1 kernels look up an entry's
// high code byte (elements 4–7) in three 128-entry lookups instead of 16:
// the grid is sorted by its entries read as base-3 numbers, element 7
// first, so the high elements change at most once within any 16
// consecutive entries 16g…16g+15 (checked here). For each g, t[g] is the
// first entry's high byte, t[128 + g] the last's and t[256 + g] the first
// n ≥ 0 whose entry 16g + n has the last's (16 if all have the first's);
// an index i takes t[128 + i>>4] where i&15 ≥ t[256 + i>>4], else t[i>>4].
// Then come the byte constants the kernels build i>>4 and i&15 with.
func iq1High(typ quant.Type, words []uint16, t []uint8) {
	for g := 0; g < len(words)/16; g++ {
		run := words[16*g : 16*g+16]
		first, last := uint8(run[0]>>8), uint8(run[15]>>8)
		step := 16
		for n, w := range run {
			h := uint8(w >> 8)
			if h != first && step == 16 {
				step = n
			}
			if (n < step && h != first) || (n >= step && h != last) {
				panic(fmt.Sprintf("qgemm: %v: grid entries %d…%d change their high elements twice", typ, 16*g, 16*g+15))
			}
		}
		t[g], t[128+g], t[256+g] = first, last, uint8(step)
	}
	for b := 0; b < 64; b++ {
		t[384+b], t[448+b], t[512+b] = 0x10, 0x20, 0x40
	}
	binary.LittleEndian.PutUint32(t[576:], 0x0f0f0f0f)
}

// splitBlock is the bytes of one of gridFormat3S's two blocks per 32
// elements: 64 index bytes and the mask of their ninth bits.
const splitBlock = 64 + 8

// splitPos is the byte of gridFormat3S's block of 64 indices that holds
// column c's index for quad g of the block. The kernels look up both
// halves of the 64 entries (A: elements 0–1, B: 2–3, as nibbles) and
// interleave them (VPUNPCKLBW, VPUNPCKHBW of A and B: words A | B<<8), so
// that qword i of the 128-bit lane l of either result holds columns 4l +
// 2i and 4l + 2i + 1 of two quads; a VPMULTISHIFTQB control (splitCtrl)
// then moves one quad's 4 nibbles into each column's dword. Quads 0 and 1
// come from the low interleave, 2 and 3 from the high one.
func splitPos(c, g int) int {
	return 16*(c/4) + 8*(g/2) + 4*(c/2%2) + 2*(g%2) + c%2
}

// splitCtrl is byte b of the VPMULTISHIFTQB control that takes the
// nibbles of a block's quads g with g%2 = s from their interleave (words
// 2s and 2s+1 of each qword; splitPos): byte j of dword p of a qword
// starts at bit 16·(2s + p) + 4j.
func splitCtrl(s, b int) uint8 {
	return uint8(16*(2*s+b%8/4) + 4*(b%4))
}

// gridFormat returns the format that keeps type t's grid indices (IQ2_XXS,
// IQ2_XS, IQ2_S, IQ1_S, IQ1_M) where this CPU has kernels that look them
// up (ggmlGridKernels). A tile holds, per 32 elements of the 16 columns,
// the indices' low bytes (64 bytes: byte 4c+g is column c's for elements
// 8g…8g+7), a 64-bit mask per higher index bit (bit 4c+g), then one
// 64-bit sign mask per quad of 4 elements (bit 4c+t: element t of column
// c is negative; IQ2_XXS's and IQ2_XS's 7 sign bits and their parity, or
// IQ2_S's 8) or, for the IQ1 types, their delta masks (gridTable.deltas),
// then as the table-code tiles the int8 scales 2s+1 (per 32 or 16
// elements) and d: 2.31, 2.69, 2.81, 1.72 and 2.06 bits per weight
// against the files' 2.06, 2.31, 2.56, 1.56 and 1.75, where the table
// codes take 3.31–4.56. The weights are d·(2s+1)·grid·sign/8 (IQ2) and
// d·(2s+1)·(8·grid ± 1)/8 (IQ1, whose δ is ±1/8; quant.CodeScale), as ggml
// computes them.
//
// The kernels' table (gridTable.kern) holds the entries' low code bytes
// at 0 and high ones at n = 2^bits, the four VPMULTISHIFTQB controls at
// 2n, the unsigned levels 128 + level by a byte's low two bits at 2n +
// 256 (IQ1: the levels of δ = +1/8, 8·(c − 1) + 1), and for IQ1 the dword
// 0x02020202 at 2n + 320 (what a negative δ takes off every level), then
// what its kernels look the high code bytes up by instead of the 2048 at
// n (iq1High): per 16 entries 16g…16g+15 the high byte of the first
// (2n + 384 + g) and of the last (2n + 512 + g), and the first n whose
// entry 16g + n has the last's (2n + 640 + g; 16 for none); then 64
// bytes each of 0x10, 0x20 and 0x40 (2n + 768, 832, 896) and the dword
// 0x0f0f0f0f (2n + 960). The AVX2 kernels (CPUs without VBMI) read each
// entry whole, as 8 bytes, from 2n + 1024 (gridEntries), and the AVX2
// expansion its 4-bit codes as the wide tiles hold them (byte t: element
// t, and element t + 4 in the high nibble) from 10n + 1024.
func gridFormat(t quant.Type) *format {
	entries := quant.Grid(t)
	iq1 := t == quant.IQ1_S || t == quant.IQ1_M
	g := &gridTable{words: make([]uint16, len(entries)), bits: bits.Len(uint(len(entries) - 1))}
	maxBits := 10
	if iq1 {
		maxBits = 11
	}
	if len(entries) != 1<<g.bits || g.bits < 8 || g.bits > maxBits {
		panic(fmt.Sprintf("qgemm: %v: grid of %d entries", t, len(entries)))
	}
	g.step = 128 + 8*(g.bits-8)
	if iq1 {
		g.deltas = 1
		if t == quant.IQ1_M {
			g.deltas = 4
		}
		g.step = g.deltaOff() + 2*g.deltas
	}
	for i, e := range entries {
		for j := 0; j < 8; j++ {
			c := slices.Index(gridLevels[:], int8(e>>(8*j)))
			if iq1 {
				if c = int(int8(e>>(8*j))) + 1; c > 2 {
					c = -1
				}
			}
			if c < 0 {
				panic(fmt.Sprintf("qgemm: %v: grid entry %d holds %d", t, i, uint8(e>>(8*j))))
			}
			g.words[i] |= uint16(c) << (2 * j)
		}
	}
	n := len(entries)
	g.kern = aligned64(gridEntries(n) + 12*n)
	for i, w := range g.words {
		for t := 0; t < 4; t++ { // the AVX2 expansion's 4-bit codes
			g.kern[gridEntries(n)+8*n+4*i+t] = uint8(w>>(2*t)&3) | uint8(w>>(2*t+8)&3)<<4
		}
		g.kern[i], g.kern[n+i] = uint8(w), uint8(w>>8)
		for j := 0; j < 8; j++ { // the AVX2 kernels' unsigned entries
			c := uint8(w >> (2 * j) & 3)
			u := uint8(gridLevels[min(c, 2)])
			if iq1 {
				u = 8*c + 9
			}
			g.kern[gridEntries(n)+8*i+j] = u
		}
	}
	for grp := 0; grp < 4; grp++ {
		for b := 0; b < 64; b++ {
			g.kern[2*n+64*grp+b] = uint8(32*(b%8/4) + 8*grp + 2*(b%4))
		}
	}
	l := gridLevels
	levels := []int8{l[0], l[1], l[2], 0, -l[0], -l[1], -l[2], 0} // code | 4 if negative
	if iq1 {
		levels = []int8{-7, 1, 9, 0, -9, -1, 7, 0} // code | 4 if δ < 0
		binary.LittleEndian.PutUint32(g.kern[2*n+320:], 0x02020202)
		iq1High(t, g.words, g.kern[2*n+384:])
	}
	for i := 0; i < 64; i++ { // by the byte's low two bits: codes 0–2
		g.kern[2*n+256+i] = 128
		if i%4 < 3 {
			g.kern[2*n+256+i] += uint8(levels[i%4])
		}
	}
	sub := 32
	if t != quant.IQ2_XXS && t != quant.IQ1_S {
		sub = 16
	}
	f := &format{t: t, kern: t, low: 2, grid: g, zp: 128, sb: 256, sub: sub, subScales: true, act: actQ8_K,
		lut: newLUT(levels), dscale: quant.CodeScale(t)}
	wk := quant.IQ4_XS
	if sub == 16 {
		wk = kernCodes16
	}
	g.wide = &format{t: t, kern: wk, low: 4, lut: f.lut, zp: 128, sb: 256, sub: sub, subScales: true,
		act: actQ8_K, dscale: f.dscale}
	return f
}

// gridEntries is the offset of the AVX2 kernels' table in the kernel
// table of a grid of n entries (gridFormat): entry i as 8 unsigned bytes,
// element j's magnitude (IQ2) or, for its value g, 8·g + 1 + 16 (IQ1: the
// weight for a positive δ, plus 16).
func gridEntries(n int) int { return 2*n + 1024 }

// expandGridGeneric writes the wide tiles (gridTable.wide) of the n grid
// tiles at src to dst.
func expandGridGeneric(f *format, dst, src []uint8, n int) {
	w := f.grid.wide
	tb, wb := f.tileBytes(), w.tileBytes()
	var codes [256]uint8
	for i := 0; i < n; i++ {
		t, d := src[i*tb:(i+1)*tb], dst[i*wb:(i+1)*wb]
		for c := 0; c < GroupCols; c++ {
			for j := range codes {
				codes[j] = f.gridCode(t, c, j)
			}
			putCodes(d, w.low, c, codes[:])
		}
		copy(d[w.scOff():], t[f.scOff():]) // the scales and d, laid out alike
	}
}

// gridCode returns the code of column c, element j of a grid tile: the
// element's magnitude's index in gridLevels, plus 4 when it is negative
// (the index of its level in f.lut).
func (f *format) gridCode(tile []uint8, c, j int) uint8 {
	g := f.grid
	e := j % 32
	blk := tile[j/32*g.step:][:g.step]
	if g.split { // the index's code, plus 8 when negative
		q := e / 4
		hb, pos := splitBlock*(q/4), splitPos(c, q%4)
		idx := int(blk[hb+pos]) | int(blk[hb+64+pos/8]>>(pos%8)&1)<<8
		code := uint8(g.words[idx]>>(3*(e%4))) & 7
		bit := 4*c + e%4
		neg := blk[g.signs()+8*q+bit/8] >> (bit % 8) & 1
		return code | neg<<3
	}
	if g.quad { // the magnitude's index in grid3Levels, plus 8 when negative
		q := e / 4
		idx := blk[64*(q/4)+16*(c/4)+4*(q%4)+c%4]
		code := uint8(g.words[idx]>>(3*(e%4))) & 7
		bit := 4*c + e%4
		neg := blk[g.signs()+8*q+bit/8] >> (bit % 8) & 1
		return code | neg<<3
	}
	pos := 4*c + e/8 // the index's byte, and its bit in the masks
	idx := int(blk[pos])
	for b := 0; b < g.bits-8; b++ {
		idx |= int(blk[64+8*b+pos/8]>>(pos%8)&1) << (8 + b)
	}
	code := uint8(g.words[idx]>>(2*(e%8))) & 3
	if g.deltas > 0 { // plus 4 where the column's δ is negative
		m := e / 8 * g.deltas / 4
		return code | blk[g.deltaOff()+2*m+c/8]>>(c%8)&1<<2
	}
	bit := 4*c + e%4
	neg := blk[g.signs()+8*(e/4)+bit/8] >> (bit % 8) & 1
	return code | neg<<2
}

// decodeGrid decodes a super-block of grid type t (p: its bytes) into b's
// grid fields: per 8 elements (per 4 for IQ3_XXS and IQ3_S) the index,
// per 8 the sign bits (ggml's 7 and their parity, or IQ2_S's and IQ3_S's
// 8; for IQ1_S and IQ1_M 1 where δ is negative), and the scales 2s+1.
func decodeGrid(t quant.Type, p []byte, b *superBlock) {
	parity := func(s uint8) uint8 { // ggml's ksigns_iq2xs: even parity over 8
		if bits.OnesCount8(s)%2 == 1 {
			s |= 128
		}
		return s
	}
	// aux: a 32-bit word of four 7-bit sign fields and the scale s on top.
	signsAndScale := func(ib int, aux uint32) {
		for l := 0; l < 4; l++ {
			b.gs[4*ib+l] = parity(uint8(aux >> (7 * l) & 127))
		}
		b.sc[ib] = int8(2*(aux>>28) + 1)
	}
	nibbles := func(ib int, sc uint8) { b.sc[2*ib], b.sc[2*ib+1] = int8(2*(sc&15)+1), int8(2*(sc>>4)+1) }
	switch t {
	case quant.IQ2_XXS: // per 32 elements 4 index bytes, then aux
		var x quant.BlockIQ2_XXS
		x.Load(p)
		b.d = x.D.Bits()
		for ib := 0; ib < 8; ib++ {
			q := x.Qs[4*ib : 4*ib+4]
			for l := 0; l < 4; l++ {
				b.gi[4*ib+l] = q[l/2] >> (8 * (l % 2)) & 255
			}
			signsAndScale(ib, uint32(q[2])|uint32(q[3])<<16)
		}
	case quant.IQ2_XS: // a 9-bit index and 7 sign bits per 8 elements
		var x quant.BlockIQ2_XS
		x.Load(p)
		b.d = x.D.Bits()
		for i, q := range x.Qs {
			b.gi[i], b.gs[i] = q&511, parity(uint8(q>>9))
		}
		for ib, sc := range x.Scales {
			nibbles(ib, sc)
		}
	case quant.IQ2_S: // low index bytes, sign bytes, 2 high bits per run
		var x quant.BlockIQ2_S
		x.Load(p)
		b.d = x.D.Bits()
		for ib, sc := range x.Scales {
			for l := 0; l < 4; l++ {
				b.gi[4*ib+l] = uint16(x.Qs[4*ib+l]) | uint16(x.Qh[ib])<<(8-2*l)&0x300
				b.gs[4*ib+l] = x.Qs[32+4*ib+l]
			}
			nibbles(ib, sc)
		}
	case quant.IQ3_XXS: // 64 index bytes (one per quad), then 8 aux words
		var x quant.BlockIQ3_XXS
		x.Load(p)
		b.d = x.D.Bits()
		for i := range 64 {
			b.gi[i] = uint16(x.Qs[i])
		}
		for ib := 0; ib < 8; ib++ {
			signsAndScale(ib, binary.LittleEndian.Uint32(x.Qs[64+4*ib:]))
		}
	case quant.IQ1_S: // per 32 elements 4 index bytes; their top 3 bits, s and δ in a word
		var x quant.BlockIQ1_S
		x.Load(p)
		b.d = x.D.Bits()
		for ib, qh := range x.Qh {
			for l := 0; l < 4; l++ {
				b.gi[4*ib+l] = uint16(x.Qs[4*ib+l]) | qh>>(3*l)&7<<8
				b.gs[4*ib+l] = uint8(qh >> 15)
			}
			b.sc[ib] = int8(2*(qh>>12&7) + 1)
		}
	case quant.IQ1_M: // index bytes; a nibble per 8 (top bits, δ); 3-bit scales per 16
		var x quant.BlockIQ1_M
		x.Load(p)
		b.d = x.Scale().Bits()
		for ib := 0; ib < 8; ib++ {
			sc := binary.LittleEndian.Uint16(x.Scales[2*(ib/2):])
			for h := 0; h < 2; h++ {
				b.sc[2*ib+h] = int8(2*(sc>>(6*(ib%2)+3*h)&7) + 1)
			}
			for l := 0; l < 4; l++ {
				qh := x.Qh[2*ib+l/2] >> (4 * (l % 2))
				b.gi[4*ib+l] = uint16(x.Qs[4*ib+l]) | uint16(qh&7)<<8
				b.gs[4*ib+l] = qh >> 3 & 1
			}
		}
	case quant.IQ3_S: // low index bytes, a ninth bit per quad, sign bytes
		var x quant.BlockIQ3_S
		x.Load(p)
		b.d = x.D.Bits()
		for i, q := range x.Qs {
			b.gi[i] = uint16(q) | uint16(x.Qh[i/8]>>(i%8)&1)<<8
		}
		b.gs = x.Signs
		for ib := range 8 {
			b.sc[ib] = int8(2*(x.Scales[ib/2]>>(4*(ib%2))&15) + 1)
		}
	}
}

// putGrid stores column c's grid fields of b into a grid tile's index,
// index bit and sign planes (gridFormat).
func putGrid(g *gridTable, tile []uint8, c int, b *superBlock) {
	if !g.quad && !g.split {
		putGrid8(g, tile, c, b)
		return
	}
	for ch := 0; ch < 8; ch++ {
		blk := tile[ch*g.step:][:g.step]
		for q := 0; q < 8 && g.quad; q++ { // gridFormat3's index order
			blk[64*(q/4)+16*(c/4)+4*(q%4)+c%4] = uint8(b.gi[8*ch+q])
		}
		for q := 0; q < 8 && g.split; q++ { // gridFormat3S's
			idx, hb, pos := b.gi[8*ch+q], splitBlock*(q/4), splitPos(c, q%4)
			blk[hb+pos] = uint8(idx)
			blk[hb+64+pos/8] |= uint8(idx>>8&1) << (pos % 8)
		}
		for r := 0; r < 4 && !g.quad && !g.split; r++ { // run r: elements 8r…8r+7
			idx, pos := b.gi[4*ch+r], 4*c+r
			blk[pos] = uint8(idx)
			for hb := 0; hb < g.bits-8; hb++ {
				blk[64+8*hb+pos/8] |= uint8(idx>>(8+hb)&1) << (pos % 8)
			}
		}
		if g.deltas > 0 { // bit c of each mask: IQ1_S's one δ, IQ1_M's per run
			for m := 0; m < g.deltas; m++ {
				blk[g.deltaOff()+2*m+c/8] |= b.gs[4*ch+4*m/g.deltas] << (c % 8)
			}
			continue
		}
		signs := blk[g.signs():]
		for q := 0; q < 8; q++ { // bits 4c…4c+3 of quad q's mask
			nib := b.gs[4*ch+q/2] >> (4 * (q % 2)) & 15
			signs[8*q+c/2] |= nib << (4 * (c % 2))
		}
	}
}

// putGrid8 is putGrid for the grids with an index per 8 elements: per 32
// elements the 4 index bytes, the set higher index bits, and the two
// signs nibbles of each run (or the δ bits).
func putGrid8(g *gridTable, tile []uint8, c int, b *superBlock) {
	step, nb := g.step, uint(g.bits-8)
	pos0 := uint(4 * c)
	half, nibShift := c/2, uint(4*(c%2))
	dOff, dBit := g.deltaOff()+c/8, uint(c%8)
	for ch := 0; ch < 8; ch++ {
		blk := tile[ch*step : ch*step+step]
		gi := b.gi[4*ch : 4*ch+4]
		copy(blk[pos0:pos0+4], []uint8{uint8(gi[0]), uint8(gi[1]), uint8(gi[2]), uint8(gi[3])})
		for r, idx := range gi {
			for hi, hb := uint(idx>>8), uint(0); hi != 0 && hb < nb; hi, hb = hi>>1, hb+1 {
				pos := pos0 + uint(r)
				blk[64+8*hb+pos/8] |= uint8(hi&1) << (pos % 8)
			}
		}
		gs := b.gs[4*ch : 4*ch+4]
		if g.deltas > 0 { // bit c of each mask: IQ1_S's one δ, IQ1_M's per run
			for m := 0; m < g.deltas; m++ {
				blk[dOff+2*m] |= gs[4*m/g.deltas] << dBit
			}
			continue
		}
		signs := blk[step-64 : step]
		for q := 0; q < 8; q++ { // bits 4c…4c+3 of quad q's mask
			signs[8*q+half] |= (gs[q/2] >> (4 * (q % 2)) & 15) << nibShift
		}
	}
}

// codeFormat returns the format of type t held as table codes in the
// tiles of iq4xs (the IQ4_XS format) or, for a scale per 16 elements, of
// the same layout with 16 sub-blocks; with bits3, a type of at most 8
// levels (the IQ2 and IQ1 types: 6) takes 3-bit codes instead, a 2-bit
// plane and a bit plane as Q3_K's tiles hold them (kernCodes3,
// kernCodes3x16): 3.31 or 3.56 bits per weight instead of 4.31 or 4.56.
func codeFormat(iq4xs *format, t quant.Type, bits3 bool) *format {
	f := *iq4xs
	f.t, f.kern, f.lut, f.dscale = t, quant.IQ4_XS, newLUT(quant.CodeLevels(t)), quant.CodeScale(t)
	bits3 = bits3 && len(quant.CodeLevels(t)) <= 8
	if bits3 {
		f.low, f.high, f.kern = 2, 1, kernCodes3
	}
	switch t {
	case quant.IQ2_XS, quant.IQ2_S, quant.IQ1_M: // a scale per 16
		f.kern, f.sub = kernCodes16, 16
		if bits3 {
			f.kern = kernCodes3x16
		}
	}
	return &f
}

// lutTable is a table of up to 16 levels that 4-bit codes index: the
// levels + 128 (the unsigned codes the AVX-512 kernels multiply) four
// times over, so that VPSHUFB finds them in every 128-bit lane, then the
// signed levels (for the AVX2 and NEON kernels) at byte 64, and the index
// of each level (by its uint8 bits; −1 for none) for packing.
type lutTable struct {
	u     [64]uint8
	s     [16]int8
	index [256]int8
}

func newLUT(levels []int8) *lutTable {
	t := &lutTable{}
	for i := range t.index {
		t.index[i] = -1
	}
	for i, l := range levels {
		t.s[i] = l
		t.index[uint8(l)] = int8(i)
	}
	for i := range t.u {
		t.u[i] = uint8(int(t.s[i%16]) + 128)
	}
	return t
}

// lutArg is the table pointer of the kernels' arguments (gargs.lut).
func (f *format) lutArg() *uint8 {
	if f.grid != nil {
		return &f.grid.kern[0]
	}
	if f.lut == nil {
		return nil
	}
	return &f.lut.u[0]
}

// lutIQ4 holds the IQ4 levels (kvalues_iq4nl).
var lutIQ4 = func() *lutTable {
	var l [16]int8
	for i := range l {
		l[i] = quant.IQ4Level(uint8(i))
	}
	return newLUT(l[:])
}()

func (f *format) nsub() int { return f.sb / f.sub }

// chunkedTiles: on amd64 the Q3_K, Q5_K and Q6_K tiles (and Q5_K's plane1
// form) keep each sub-block's low codes and extra bits together (chunk):
// Q6_K's 128 bytes of codes per 16 elements, then their 64 bytes of 2-bit
// codes; Q5_K's 256 bytes per 32 elements, then their 64 bytes of masks or
// 1-bit codes; Q3_K's 64 bytes per 16 elements, then their 32 bytes of
// masks. A one-row kernel then reads each group's tiles as one sequential
// stream instead of two (codes and extra bits 2 KiB apart, both
// advancing): on the 2-vCPU EPYC of docs/PERFORMANCE.md the AVX-512 Q6_K
// one-row kernel went from 79–85 % of a cold streaming read to 89–103 %
// (one thread) and from 85–94 % to 101–107 % (two; 6912 × 32768,
// alternated). The arm64 kernels, not measured on hardware here, keep the
// two regions.
const chunkedTiles = runtime.GOARCH == "amd64"

// chunkedType reports whether t's masks form is chunked (chunkedTiles).
func chunkedType(t quant.Type) bool {
	return chunkedTiles && (t == quant.Q3_K || t == quant.Q5_K || t == quant.Q6_K)
}

// subLow is the bytes of one sub-block's low codes.
func (f *format) subLow() int { return f.sub * GroupCols * f.low / 8 }

// chunk is the bytes of one sub-block's low codes and extra bits where a
// tile interleaves them sub-block by sub-block (chunked), else 0.
func (f *format) chunk() int {
	if f.chunked {
		return f.sub * GroupCols * (f.low + f.high) / 8
	}
	return 0
}
func (f *format) lowBytes() int {
	if f.grid != nil {
		return f.sb / 32 * f.grid.step
	}
	return f.sb * GroupCols * f.low / 8
}
func (f *format) highBytes() int { return f.high * f.sb * GroupCols / 8 }
func (f *format) scOff() int     { return f.lowBytes() + f.highBytes() }
func (f *format) minOff() int {
	if f.subScales {
		return f.scOff() + f.nsub()*GroupCols
	}
	return f.scOff()
}
func (f *format) dOff() int {
	if f.mins == minsSub {
		return f.minOff() + f.nsub()*GroupCols
	}
	return f.minOff()
}

// tileBytes is the size of one tile: one super-block of 16 columns.
func (f *format) tileBytes() int {
	n := f.dOff() + 2*GroupCols
	if f.mins != minsNone {
		n += 2 * GroupCols
	}
	return n
}

// auxBytes is the size of one activation record (row, super-block): da
// float32, s float32 (Q8_1), zp·Σqa per sub-block (int32) when zp ≠ 0, and
// the Q8_K sums of each pair of sub-blocks as int16 pairs when mins are
// per sub-block.
func (f *format) auxBytes() int {
	n := 8
	if f.zp != 0 {
		n += 4 * f.nsub()
	}
	if f.mins == minsSub {
		n += 2 * f.nsub()
	}
	return n
}

func (f *format) zpOff() int { return 8 }
func (f *format) bsumOff() int {
	if f.zp != 0 {
		return 8 + 4*f.nsub()
	}
	return 8
}

// GGML is an N×K ggml-typed weight matrix repacked into tiles for the
// super-block kernels. Each group of 16 rows (output columns) holds
// K/sb tiles; a tile stores, for one super-block:
//
//	codes   the low bits of the 16 columns' unsigned codes, interleaved
//	        as Matrix does (one 64-byte step = 64/low·... quads)
//	planes  per extra bit and per 64-code vector, a 64-bit mask (bit
//	        4c+t is that bit of column c's code at k = 4q+t); for
//	        Q6_K (plane2) its two extra bits instead, as 2-bit codes
//	        interleaved like a 2-bit low plane (one 64-byte step per
//	        16-element sub-block, quad i of it in bits 2i and 2i+1;
//	        on amd64 each sub-block's step follows its 128 bytes of
//	        low codes instead of a region of its own: chunkedTiles),
//	        and for the plane1 forms of Q5_0, Q5_1, Q5_K and Q3_K their extra
//	        bit as 1-bit codes (one 64-byte step per 32 elements, quad i
//	        in bit i)
//	sc      int8 sub-block scales [sub][16] (K-quants)
//	m       uint8 sub-block mins, [sub/2][16][2] (K-quants with mins)
//	d       float16 [16], then dmin or m float16 [16] (types with mins)
//
// Tiles hold the file's information and nothing else: the repacked
// matrix is the size of the GGUF tensor (to within 3 % for Q4_K and Q5_K,
// whose 6-bit scales and mins take a byte each, and 19 % for Q2_K's
// nibble scales, 4–16 % for the grid tiles of IQ2 and IQ3), except for the
// types held as table codes, whose grids of 8-element patterns (1.56–3.44
// bits per weight) become 4-bit codes (1.25–2.8 times the bytes). It is
// read-only after PackGGML and safe for concurrent use.
type GGML struct {
	N, K   int
	Groups int
	f      *format
	tiles  []uint8 // [Groups][K/sb][tileBytes]
	// pf chooses the one-row kernels with or without software prefetch,
	// for one thread and for several (tune.Prefetch).
	pf [2]tune.Prefetch
}

// GGMLSupported reports whether PackGGML takes type t.
func GGMLSupported(t quant.Type) bool { return formats[t] != nil }

// PackOptions choose between the forms a type can be packed in.
type PackOptions struct {
	// Speed holds IQ2_S, IQ1_S and IQ1_M as 3-bit table codes (3.31–3.56
	// bits per weight) and IQ3_S as 4-bit ones (4.31) where this CPU would
	// keep their grid indices (1.72–3.56: about the file's size): on the
	// 4b-shaped files of docs/PERFORMANCE.md (eighteenth session) they
	// decode 1.3–1.7× (IQ2_S), 1.5–2× (IQ1_S, IQ1_M) and 1.2× (IQ3_S) as
	// fast as the grids, at 1.25×, 1.7–1.8× and 1.2× their memory.
	// IQ2_XXS's and IQ2_XS's grids are as fast as their codes there. On
	// AVX2 CPUs without VBMI (ggmlGridAVX2) it holds all five types with an
	// index per 8 elements as table codes (4-bit, 3-bit on AVX-512), whose
	// one-row kernels run 1.3–2.5× the grids' and 4b-shaped files decode
	// 1.5–2.1× as fast at 1.6–2.4× the memory (nineteenth session). Every
	// other type has one form.
	Speed bool
}

// speedFormats are the forms PackOptions.Speed picks instead of formats'.
var speedFormats = func() map[quant.Type]*format {
	fs := map[quant.Type]*format{}
	if ggmlGridKernels {
		for _, t := range []quant.Type{quant.IQ2_S, quant.IQ3_S, quant.IQ1_S, quant.IQ1_M} {
			fs[t] = codeFormat(formats[quant.IQ4_XS], t, ggmlCodes3)
		}
	}
	if ggmlGridAVX2 {
		for _, t := range []quant.Type{quant.IQ2_XXS, quant.IQ2_XS, quant.IQ2_S, quant.IQ1_S, quant.IQ1_M} {
			fs[t] = codeFormat(formats[quant.IQ4_XS], t, ggmlCodes3)
		}
	}
	return fs
}()

// format returns the form o holds type t in (nil: none).
func (o PackOptions) format(t quant.Type) *format {
	if f := speedFormats[t]; o.Speed && f != nil {
		return f
	}
	return formats[t]
}

// GGMLBytes returns the bytes PackGGML's tiles of an N×K matrix of type t
// take (0 for a type it does not take or a K that does not fit).
func GGMLBytes(t quant.Type, n, k int) int64 { return PackOptions{}.Bytes(t, n, k) }

// Bytes is GGMLBytes for PackGGMLWith(t, n, k, row, o).
func (o PackOptions) Bytes(t quant.Type, n, k int) int64 {
	f := o.format(t)
	if f == nil || n <= 0 || k <= 0 || k%f.sb != 0 {
		return 0
	}
	return int64((n+GroupCols-1)/GroupCols) * int64(k/f.sb) * int64(f.tileBytes())
}

// Type returns the matrix's ggml type.
func (m *GGML) Type() quant.Type { return m.f.t }

// Footprint returns the resident bytes of the repacked matrix.
func (m *GGML) Footprint() int { return len(m.tiles) }

// PackChunkRows is how many rows PackGGML fetches before it packs them (in
// parallel): the bytes row(n) returned must stay readable until row has
// been called for n + PackChunkRows (or PackGGML has returned).
const PackChunkRows = 1024

// PackGGML repacks an N×K matrix of ggml type t whose row n is row(n)
// (t.RowBytes(K) bytes; row is called for n = 0, 1, …, N−1 in order, once
// each, so that a caller may release what has been packed: see
// PackChunkRows). It returns
// an error wrapping ErrArgs if t has no super-block kernel, K is not a
// multiple of t's block size or a row has the wrong length.
func PackGGML(t quant.Type, n, k int, row func(n int) []byte) (*GGML, error) {
	return PackGGMLWith(t, n, k, row, PackOptions{})
}

// PackGGMLWith is PackGGML in the form o chooses.
func PackGGMLWith(t quant.Type, n, k int, row func(n int) []byte, o PackOptions) (*GGML, error) {
	f := o.format(t)
	if f == nil {
		return nil, fmt.Errorf("qgemm: PackGGML: no super-block kernel for %v: %w", t, ErrArgs)
	}
	return packGGML(f, n, k, row)
}

// packGGML is PackGGML in format f (of type f.t).
func packGGML(f *format, n, k int, row func(n int) []byte) (*GGML, error) {
	t := f.t
	rb, err := t.RowBytes(k)
	if n <= 0 || k <= 0 || err != nil || k%f.sb != 0 {
		return nil, fmt.Errorf("qgemm: PackGGML: %v %d×%d (rows must be a positive multiple of %d): %w", t, n, k, f.sb, ErrArgs)
	}
	m := &GGML{N: n, K: k, f: f, Groups: (n + GroupCols - 1) / GroupCols}
	nsb := k / f.sb
	tb := f.tileBytes()
	m.tiles = make([]uint8, m.Groups*nsb*tb)
	mmap.HugePages(m.tiles)
	// Rows are fetched in order, a chunk at a time, and the chunk's groups
	// are packed over the worker pool (each group's tiles by one worker).
	bb := t.BlockBytes() * f.sb / t.BlockSize()
	rows := make([][]byte, min(n, PackChunkRows))
	for c0 := 0; c0 < n; c0 += PackChunkRows {
		c1 := min(n, c0+PackChunkRows)
		for j := c0; j < c1; j++ {
			r := row(j)
			if len(r) != rb {
				return nil, fmt.Errorf("qgemm: PackGGML: %v row %d has %d bytes, want %d: %w", t, j, len(r), rb, ErrArgs)
			}
			rows[j-c0] = r
		}
		g0, g1 := c0/GroupCols, (c1+GroupCols-1)/GroupCols
		var inexact atomic.Bool
		err := workerpool.ForN(context.Background(), g1-g0, 4, 0, func(lo, hi int) {
			var blk superBlock
			o := f.offs()
			for g := g0 + lo; g < g0+hi; g++ {
				for j := g * GroupCols; j < min(c1, (g+1)*GroupCols); j++ {
					r := rows[j-c0]
					for s := 0; s < nsb; s++ {
						if !decodeSuper(f, r[s*bb:(s+1)*bb], &blk) {
							inexact.Store(true)
							return
						}
						m.putTile(m.tiles[(g*nsb+s)*tb:(g*nsb+s+1)*tb], j%GroupCols, &blk, o)
					}
				}
			}
		})
		if err == nil && inexact.Load() {
			err = ErrInexact
		}
		if err != nil {
			return nil, fmt.Errorf("qgemm: PackGGML: %v rows %d–%d: %w", t, c0, c1, err)
		}
	}
	// Padding columns (N not a multiple of 16) keep zero codes, scales and
	// d: they contribute 0 (u − zp is multiplied by d = 0).
	return m, nil
}

// codes2 unpacks the 2-bit codes of a 256-element super-block laid out as
// Q2_K, Q3_K (their low bits) and TQ2_0 lay them out: element 128n + 32j
// + l in bits 2j of byte 32n + l of qs.
func codes2(qs []byte, u *[256]uint8) {
	for e := 0; e < 256; e += 8 {
		n, j, l := e/128, e%128/32, e%32
		le64.PutUint64(u[e:], le64.Uint64(qs[32*n+l:])>>(2*j)&lo2)
	}
}

// pow3 are the powers of 3 that TQ1_0's digits are read with.
var pow3 = [5]uint8{1, 3, 9, 27, 81}

var le64 = binary.LittleEndian

// le16 reads a little-endian uint16 (a function, unlike a method value
// of binary.LittleEndian, that the compiler inlines).
func le16(p []byte) uint16 { return binary.LittleEndian.Uint16(p) }

// nibbles32 unpacks the 16 bytes of 4-bit codes of a 32-element block
// (element j in the low nibble of byte j, j+16 in its high nibble) into
// u[:32].
func nibbles32(qs []byte, u []uint8) {
	for j := 0; j < 16; j += 8 {
		v := le64.Uint64(qs[j:])
		le64.PutUint64(u[j:], v&lo4)
		le64.PutUint64(u[16+j:], v>>4&lo4)
	}
}

// Byte masks of eight codes at a time.
const (
	lo1 = 0x0101010101010101
	lo2 = 0x0303030303030303
	lo4 = 0x0F0F0F0F0F0F0F0F
)

// spread8[x] has bit 4 of byte i set where bit i of x is: eight extra
// code bits added to eight codes at once.
var spread8 = func() (t [256]uint64) {
	for x := range t {
		for i := range 8 {
			t[x] |= uint64(x>>i&1) << (8*i + 4)
		}
	}
	return t
}()

// superBlock is one super-block of one row in kernel terms.
type superBlock struct {
	u     [256]uint8 // unsigned codes (or table indices)
	sc    [16]int8
	m     [16]uint8
	d, dm uint16 // float16 bits: d, and dmin (K) or m (Q4_1/Q5_1)
	// gi, gs: a grid format's index and sign bits per 8 elements
	// (decodeGrid).
	gi [64]uint16 // per 8 elements, or per 4 (IQ3_XXS, IQ3_S)
	gs [32]uint8
	// low, hi: putPlanes' scratch (u split into low codes and extra bits).
	low, hi [256]uint8
}

// decodeSuper decodes one super-block of f's type from p (exactly its
// bytes) into b. It reports false for a block of a type held as codes
// whose values are not the tile's ((d·sc)·dscale)·level exactly
// (quant.Codes).
func decodeSuper(f *format, p []byte, b *superBlock) bool {
	if f.grid != nil {
		decodeGrid(f.t, p, b)
		return true
	}
	switch f.t {
	case quant.Q4_0, quant.IQ4_NL:
		b.d = le16(p)
		nibbles32(p[2:], b.u[:])
	case quant.Q8_0:
		b.d = le16(p)
		for j := 0; j < 32; j += 8 { // int8 + 128
			le64.PutUint64(b.u[j:], le64.Uint64(p[2+j:])^0x8080808080808080)
		}
	case quant.Q4_1:
		b.d, b.dm = le16(p), le16(p[2:])
		nibbles32(p[4:], b.u[:])
	case quant.Q5_0, quant.Q5_1:
		o := 2
		b.d = le16(p)
		if f.t == quant.Q5_1 {
			b.dm, o = le16(p[2:]), 4
		}
		qh := binary.LittleEndian.Uint32(p[o:])
		nibbles32(p[o+4:], b.u[:])
		for j := 0; j < 32; j += 8 { // bit j of qh is bit 4 of code j
			le64.PutUint64(b.u[j:], le64.Uint64(b.u[j:])|spread8[uint8(qh>>j)])
		}
	case quant.Q4_K, quant.Q5_K:
		b.d, b.dm = le16(p), le16(p[2:])
		var sc [12]uint8
		copy(sc[:], p[4:16])
		for j := 0; j < 8; j++ {
			s, m := quant.ScaleMinK4(j, &sc)
			b.sc[j], b.m[j] = int8(s), m
		}
		qs, qh := p[16:], []byte(nil)
		if f.t == quant.Q5_K {
			qh, qs = p[16:48], p[48:]
		}
		for j := 0; j < 4; j++ {
			for l := 0; l < 32; l += 8 {
				q := le64.Uint64(qs[32*j+l:])
				lo, hi := q&lo4, q>>4&lo4
				if qh != nil {
					h := le64.Uint64(qh[l:])
					lo |= h >> (2 * j) & lo1 << 4
					hi |= h >> (2*j + 1) & lo1 << 4
				}
				le64.PutUint64(b.u[64*j+l:], lo)
				le64.PutUint64(b.u[64*j+32+l:], hi)
			}
		}
	case quant.Q6_K:
		ql, qh, sc := p[:128], p[128:192], p[192:208]
		b.d = le16(p[208:])
		for i := range 16 {
			b.sc[i] = int8(sc[i])
		}
		for h := 0; h < 2; h++ {
			l0, h0 := ql[64*h:], qh[32*h:]
			for l := 0; l < 32; l += 8 {
				e := 128 * h
				a, c, q := le64.Uint64(l0[l:]), le64.Uint64(l0[l+32:]), le64.Uint64(h0[l:])
				le64.PutUint64(b.u[e+l:], a&lo4|q&lo2<<4)
				le64.PutUint64(b.u[e+l+32:], c&lo4|q>>2&lo2<<4)
				le64.PutUint64(b.u[e+l+64:], a>>4&lo4|q>>4&lo2<<4)
				le64.PutUint64(b.u[e+l+96:], c>>4&lo4|q>>6&lo2<<4)
			}
		}
	case quant.Q3_K:
		hm, qs, raw := p[:32], p[32:96], (*[12]uint8)(p[96:108])
		b.d = le16(p[108:])
		for i := range 16 {
			b.sc[i] = int8(quant.Q3KScale(i, raw) - 32)
		}
		codes2(qs, &b.u)
		for e := 0; e < 256; e += 8 {
			n, j, l := e/128, e%128/32, e%32
			h := le64.Uint64(hm[l:])
			le64.PutUint64(b.u[e:], le64.Uint64(b.u[e:])|h>>(4*n+j)&lo1<<2)
		}
	case quant.TQ2_0: // Q2_K's code layout, then d
		b.d = le16(p[64:])
		codes2(p[:64], &b.u)
	case quant.TQ1_0: // base-3 digits: 5 per byte of qs, 4 per byte of qh
		qs, qh := p[:48], p[48:52]
		b.d = le16(p[52:])
		trit := func(q uint8, n int) uint8 { // ggml's digit n of q
			return uint8(uint16(q*pow3[n]) * 3 >> 8)
		}
		for n := 0; n < 5; n++ {
			for m := 0; m < 32; m++ {
				b.u[32*n+m] = trit(qs[m], n)
			}
			for m := 0; m < 16; m++ {
				b.u[160+16*n+m] = trit(qs[32+m], n)
			}
		}
		for n := 0; n < 4; n++ {
			for j := 0; j < 4; j++ {
				b.u[240+4*n+j] = trit(qh[j], n)
			}
		}
	case quant.Q2_K:
		sc, qs := p[:16], p[16:80]
		b.d, b.dm = le16(p[80:]), le16(p[82:])
		for i := range 16 {
			b.sc[i], b.m[i] = int8(sc[i]&15), sc[i]>>4
		}
		codes2(qs, &b.u)
	case quant.IQ4_XS:
		var x quant.BlockIQ4_XS
		x.Load(p)
		b.d = le16(p)
		qs := p[8:136]
		for ib := 0; ib < 8; ib++ {
			b.sc[ib] = int8(x.Scale(ib) - 32)
			nibbles32(qs[16*ib:], b.u[32*ib:])
		}
	default: // the types held as codes (quant.Codes)
		var codes [256]int8
		d, ok := quant.Codes(f.t, p, &codes, &b.sc)
		if !ok {
			return false
		}
		b.d = d.Bits()
		for j, c := range codes {
			b.u[j] = uint8(f.lut.index[uint8(c)]) // every code is a level
		}
		if f.sub == 32 { // Codes's scales per 16 come in equal pairs
			for s := range 8 {
				b.sc[s] = b.sc[2*s]
			}
		}
	}
	return true
}

// tileOffs are the offsets of a tile's scales, mins and d (format's
// scOff, minOff and dOff), computed once per packing.
type tileOffs struct{ sc, min, d int }

func (f *format) offs() tileOffs { return tileOffs{f.scOff(), f.minOff(), f.dOff()} }

// putTile stores column c's super-block b into tile, whose offsets are o.
func (m *GGML) putTile(tile []uint8, c int, b *superBlock, o tileOffs) {
	f := m.f
	if f.grid != nil {
		putGrid(f.grid, tile, c, b)
	} else {
		putPlanes(f, tile, c, b)
	}
	if f.subScales {
		for s := 0; s < f.nsub(); s++ {
			tile[o.sc+s*GroupCols+c] = uint8(b.sc[s])
		}
	}
	if f.mins == minsSub {
		for s := 0; s < f.nsub(); s++ {
			tile[o.min+(s/2)*2*GroupCols+2*c+s%2] = b.m[s]
		}
	}
	binary.LittleEndian.PutUint16(tile[o.d+2*c:], b.d)
	if f.mins != minsNone {
		binary.LittleEndian.PutUint16(tile[o.d+2*GroupCols+2*c:], b.dm)
	}
}

// putPlanes stores column c's codes of b into tile's code plane and extra
// bit planes.
func putPlanes(f *format, tile []uint8, c int, b *superBlock) {
	if f.high == 0 && !f.chunked { // the codes are the low codes
		putCodes(tile, f.low, c, b.u[:f.sb])
		return
	}
	// Eight codes at a time: the low bits of each byte, and the bits
	// above them shifted down (the mask drops what the shift brings in
	// from the next byte). f.sb is a multiple of 8.
	const ones = 0x0101010101010101
	lowMask, hiMask := uint64(uint8(1)<<f.low-1)*ones, uint64(0xFF>>f.low)*ones
	low, hi := &b.low, &b.hi
	for j := 0; j < f.sb; j += 8 {
		v := le64.Uint64(b.u[j:])
		le64.PutUint64(low[j:], v&lowMask)
		le64.PutUint64(hi[j:], v>>f.low&hiMask)
	}
	for j := 0; j < f.sb; {
		lowAt, highAt, _, n := f.codeRun(tile, j)
		putCodes(lowAt, f.low, c, low[j:j+n])
		if f.plane1 || f.plane2 {
			putCodes(highAt, f.high, c, hi[j:j+n])
		} else {
			putMasks(f, highAt, c, b.u[j:j+n])
		}
		j += n
	}
}

// codeRun returns where the run of elements that holds element j lies in
// a tile: the low codes and the extra bits from the run's first element
// on, j's index in the run, and the run's length. The run is the whole
// super-block, or in a chunked tile j's sub-block.
func (f *format) codeRun(tile []uint8, j int) (low, high []uint8, jr, n int) {
	if ch := f.chunk(); ch > 0 {
		s := j / f.sub
		return tile[s*ch:], tile[s*ch+f.subLow():], j % f.sub, f.sub
	}
	return tile, tile[f.lowBytes():], j, f.sb
}

// putMasks ORs the extra bits of column c's codes u (a run's) into the
// 64-bit masks at planes (one per extra bit and quad of u, maskBit).
func putMasks(f *format, planes []uint8, c int, u []uint8) {
	for h := 0; h < f.high; h++ {
		sh := uint(f.low + h)
		for v := 0; v < len(u)/4; v++ {
			q := u[4*v : 4*v+4]
			nib := q[0]>>sh&1 | (q[1]>>sh&1)<<1 | (q[2]>>sh&1)<<2 | (q[3]>>sh&1)<<3
			// Bits 4c..4c+3 of the vector's 64-bit mask.
			planes[(v*f.high+h)*8+c/2] |= nib << (4 * uint(c%2))
		}
	}
}

// maskBit returns where extra bit h of code j of column c (j counted in
// its run, codeRun) lives in the run's masks: vector v = j/4 (the quad),
// byte v·high·8 + h·8 + (4c+t)/8.
func maskBit(f *format, h, c, j int) (off int, bit uint) {
	v, t := j/4, j%4
	i := 4*c + t
	return (v*f.high+h)*8 + i/8, uint(i % 8)
}

// tileCode returns the full unsigned code of column c, element j of a
// tile (low plane and extra bits).
func (f *format) tileCode(tile []uint8, c, j int) uint8 {
	if f.grid != nil {
		return f.gridCode(tile, c, j)
	}
	low, high, jr, _ := f.codeRun(tile, j)
	u := code(low, f.low, c, jr)
	if f.plane1 || f.plane2 {
		return u | code(high, f.high, c, jr)<<f.low
	}
	for h := 0; h < f.high; h++ {
		off, bit := maskBit(f, h, c, jr)
		u |= (high[off] >> bit & 1) << (f.low + h)
	}
	return u
}

// value returns the integer weight level of code u: u − zp, or the
// table's level.
func (f *format) value(u uint8) int32 {
	if f.lut != nil {
		return int32(f.lut.s[u])
	}
	return int32(u) - f.zp
}

// DequantizeRow writes row n of W to dst[:K] from the tiles, bit-identical
// to ggml's dequantize_row for the type. n must be in range and dst hold K
// values.
func (m *GGML) DequantizeRow(n int, dst []float32) {
	f := m.f
	g, c := n/GroupCols, n%GroupCols
	nsb, tb := m.K/f.sb, f.tileBytes()
	for s := 0; s < nsb; s++ {
		tile := m.tiles[(g*nsb+s)*tb : (g*nsb+s+1)*tb]
		d := f16(tile[f.dOff()+2*c:])
		var dm float32
		if f.mins != minsNone {
			dm = f16(tile[f.dOff()+2*GroupCols+2*c:])
		}
		out := dst[s*f.sb : (s+1)*f.sb]
		for sub := 0; sub < f.nsub(); sub++ {
			dl, ml := d, float32(0)
			if f.subScales {
				dl = d * float32(int8(tile[f.scOff()+sub*GroupCols+c]))
			}
			dl *= f.dscale // exact: a power of two
			if f.mins == minsSub {
				ml = dm * float32(tile[f.minOff()+(sub/2)*2*GroupCols+2*c+sub%2])
			}
			for j := sub * f.sub; j < (sub+1)*f.sub; j++ {
				v := float32(f.value(f.tileCode(tile, c, j)))
				switch f.mins {
				case minsHalf:
					out[j] = v*dl + dm
				case minsSub:
					out[j] = dl*v - ml
				default:
					out[j] = dl * v
				}
			}
		}
	}
}

func f16(p []byte) float32 { return numeric.Float16FromBits(binary.LittleEndian.Uint16(p)).Float32() }
