// Package neonasm writes the AArch64 Advanced SIMD (NEON) instructions
// that the Go assembler does not know as WORD directives, each with the
// instruction in a comment. It serves the //go:build ignore generators of
// the arm64 kernels (internal/qgemm, internal/hgemm, models/gemma3), so
// that each encoding is written, and checked, once.
//
// Registers are numbers: d, n and m are Vd, Vn and Vm (t the first of a
// load's or store's list), and a general register operand Xn of a load or
// store is a number too. An encoding can be checked by assembling the
// comment with GNU as (aarch64-linux-gnu-as) and comparing the word, as
// TestEncodings does for one of each.
package neonasm

import (
	"fmt"
	"io"
)

// Writer writes instructions to W, one line each.
type Writer struct{ W io.Writer }

// Word writes one instruction word with its assembly text (format, args)
// as the comment.
func (a Writer) Word(enc uint32, format string, args ...any) {
	fmt.Fprintf(a.W, "\tWORD $0x%08x // %s\n", enc, fmt.Sprintf(format, args...))
}

func rdn(enc uint32, d, n int) uint32 { return enc | uint32(n)<<5 | uint32(d) }

func rdnm(enc uint32, d, n, m int) uint32 { return rdn(enc, d, n) | uint32(m)<<16 }

// elem adds the by-element index fields (H:L, M:Rm for 32-bit elements).
func elem(enc uint32, d, n, m, idx int) uint32 {
	return rdn(enc, d, n) | uint32(idx&1)<<21 | uint32(m)<<16 | uint32(idx>>1)<<11
}

// SMULL multiplies the low (hi: high) 8 signed bytes of Vn and Vm into
// halfwords.
func (a Writer) SMULL(d, n, m int, hi bool) {
	if hi {
		a.Word(rdnm(0x4e20c000, d, n, m), "SMULL2 V%d.8H, V%d.16B, V%d.16B", d, n, m)
	} else {
		a.Word(rdnm(0x0e20c000, d, n, m), "SMULL V%d.8H, V%d.8B, V%d.8B", d, n, m)
	}
}

// SMLAL is SMULL accumulated into Vd.
func (a Writer) SMLAL(d, n, m int, hi bool) {
	if hi {
		a.Word(rdnm(0x4e208000, d, n, m), "SMLAL2 V%d.8H, V%d.16B, V%d.16B", d, n, m)
	} else {
		a.Word(rdnm(0x0e208000, d, n, m), "SMLAL V%d.8H, V%d.8B, V%d.8B", d, n, m)
	}
}

// SMLALH multiplies signed halfwords into words, accumulated into Vd.
func (a Writer) SMLALH(d, n, m int, hi bool) {
	if hi {
		a.Word(rdnm(0x4e608000, d, n, m), "SMLAL2 V%d.4S, V%d.8H, V%d.8H", d, n, m)
	} else {
		a.Word(rdnm(0x0e608000, d, n, m), "SMLAL V%d.4S, V%d.4H, V%d.4H", d, n, m)
	}
}

// SXTL sign-extends bytes to halfwords (b) or halfwords to words, as
// SSHLL #0.
func (a Writer) SXTL(d, n int, b, hi bool) {
	enc, what := uint32(0x0f10a400), [2]string{"SSHLL V%d.4S, V%d.4H, #0", "SSHLL2 V%d.4S, V%d.8H, #0"}
	if b {
		enc, what = 0x0f08a400, [2]string{"SSHLL V%d.8H, V%d.8B, #0", "SSHLL2 V%d.8H, V%d.16B, #0"}
	}
	if hi {
		a.Word(rdn(enc|1<<30, d, n), what[1], d, n)
	} else {
		a.Word(rdn(enc, d, n), what[0], d, n)
	}
}

// SADALP adds pairs of signed halfwords of Vn into the words of Vd.
func (a Writer) SADALP(d, n int) { a.Word(rdn(0x4e606800, d, n), "SADALP V%d.4S, V%d.8H", d, n) }

// SADDLP adds pairs of signed halfwords of Vn into words.
func (a Writer) SADDLP(d, n int) { a.Word(rdn(0x4e602800, d, n), "SADDLP V%d.4S, V%d.8H", d, n) }

// SCVTF converts signed words to float32.
func (a Writer) SCVTF(d, n int) { a.Word(rdn(0x4e21d800, d, n), "SCVTF V%d.4S, V%d.4S", d, n) }

// FMUL multiplies float32 lanes.
func (a Writer) FMUL(d, n, m int) {
	a.Word(rdnm(0x6e20dc00, d, n, m), "FMUL V%d.4S, V%d.4S, V%d.4S", d, n, m)
}

// FADD adds float32 lanes.
func (a Writer) FADD(d, n, m int) {
	a.Word(rdnm(0x4e20d400, d, n, m), "FADD V%d.4S, V%d.4S, V%d.4S", d, n, m)
}

// FADDP adds adjacent pairs of float32 lanes of Vn, then of Vm.
func (a Writer) FADDP(d, n, m int) {
	a.Word(rdnm(0x6e20d400, d, n, m), "FADDP V%d.4S, V%d.4S, V%d.4S", d, n, m)
}

// FMLA is Vd += Vn·Vm on float32 lanes.
func (a Writer) FMLA(d, n, m int) {
	a.Word(rdnm(0x4e20cc00, d, n, m), "FMLA V%d.4S, V%d.4S, V%d.4S", d, n, m)
}

// FMLAElem is Vd += Vn·Vm.S[idx].
func (a Writer) FMLAElem(d, n, m, idx int) {
	a.Word(elem(0x4f801000, d, n, m, idx), "FMLA V%d.4S, V%d.4S, V%d.S[%d]", d, n, m, idx)
}

// MLA is Vd += Vn·Vm on 32-bit integer lanes.
func (a Writer) MLA(d, n, m int) {
	a.Word(rdnm(0x4ea09400, d, n, m), "MLA V%d.4S, V%d.4S, V%d.4S", d, n, m)
}

// MLS is Vd −= Vn·Vm on 32-bit integer lanes.
func (a Writer) MLS(d, n, m int) {
	a.Word(rdnm(0x6ea09400, d, n, m), "MLS V%d.4S, V%d.4S, V%d.4S", d, n, m)
}

// MLSB is Vd −= Vn·Vm on bytes.
func (a Writer) MLSB(d, n, m int) {
	a.Word(rdnm(0x6e209400, d, n, m), "MLS V%d.16B, V%d.16B, V%d.16B", d, n, m)
}

// SDOT adds to each word of Vd the dot product of its 4 signed bytes of Vn
// with bytes 4idx..4idx+3 of Vm (the dot-product extension).
func (a Writer) SDOT(d, n, m, idx int) {
	a.Word(elem(0x4f80e000, d, n, m, idx), "SDOT V%d.4S, V%d.16B, V%d.4B[%d]", d, n, m, idx)
}

// SSHR shifts signed words right by sh (1–32).
func (a Writer) SSHR(d, n, sh int) {
	a.Word(rdn(0x4f000400, d, n)|uint32(64-sh)<<16, "SSHR V%d.4S, V%d.4S, #%d", d, n, sh)
}

// FCVTL widens the low (hi: high) 4 float16 lanes of Vn to float32.
func (a Writer) FCVTL(d, n int, hi bool) {
	if hi {
		a.Word(rdn(0x4e217800, d, n), "FCVTL2 V%d.4S, V%d.8H", d, n)
	} else {
		a.Word(rdn(0x0e217800, d, n), "FCVTL V%d.4S, V%d.4H", d, n)
	}
}

// SHLL shifts the low (hi: high) 4 halfwords left by 16 into words (USHLL
// only shifts up to 15): bfloat16 to float32.
func (a Writer) SHLL(d, n int, hi bool) {
	if hi {
		a.Word(rdn(0x6e613800, d, n), "SHLL2 V%d.4S, V%d.8H, #16", d, n)
	} else {
		a.Word(rdn(0x2e613800, d, n), "SHLL V%d.4S, V%d.4H, #16", d, n)
	}
}

// MOVI0 clears Vd.
func (a Writer) MOVI0(d int) { a.Word(0x6f00e400|uint32(d), "MOVI V%d.2D, #0", d) }

// LD1H loads 8 halfwords from Xn into Vt, Xn += 16.
func (a Writer) LD1H(t, n int) { a.Word(rdn(0x4cdf7400, t, n), "LD1 {V%d.8H}, [X%d], #16", t, n) }

// LD1H2 loads 16 halfwords from Xn into Vt, Vt+1, Xn += Xm.
func (a Writer) LD1H2(t, n, m int) {
	a.Word(rdnm(0x4cc0a400, t, n, m), "LD1 {V%d.8H, V%d.8H}, [X%d], X%d", t, t+1, n, m)
}

// LD1S loads 4 words from Xn into Vt, Xn += 16.
func (a Writer) LD1S(t, n int) { a.Word(rdn(0x4cdf7800, t, n), "LD1 {V%d.4S}, [X%d], #16", t, n) }

// LD1S2 loads 8 words from Xn into Vt, Vt+1, Xn += 32.
func (a Writer) LD1S2(t, n int) {
	a.Word(rdn(0x4cdfa800, t, n), "LD1 {V%d.4S, V%d.4S}, [X%d], #32", t, t+1, n)
}

// LD1S4 loads 16 words from Xn into Vt..Vt+3.
func (a Writer) LD1S4(t, n int) {
	a.Word(rdn(0x4c402800, t, n), "LD1 {V%d.4S, V%d.4S, V%d.4S, V%d.4S}, [X%d]", t, t+1, t+2, t+3, n)
}

// ST1S4 stores Vt..Vt+3 (16 words) to Xn.
func (a Writer) ST1S4(t, n int) {
	a.Word(rdn(0x4c002800, t, n), "ST1 {V%d.4S, V%d.4S, V%d.4S, V%d.4S}, [X%d]", t, t+1, t+2, t+3, n)
}

// ST1S stores Vt (4 words) to Xn, Xn += 16.
func (a Writer) ST1S(t, n int) { a.Word(rdn(0x4c9f7800, t, n), "ST1 {V%d.4S}, [X%d], #16", t, n) }

// FSUB subtracts float32 lanes: Vd = Vn − Vm.
func (a Writer) FSUB(d, n, m int) {
	a.Word(rdnm(0x4ea0d400, d, n, m), "FSUB V%d.4S, V%d.4S, V%d.4S", d, n, m)
}

// FMAX is the larger of each pair of float32 lanes, NaN if either is NaN.
func (a Writer) FMAX(d, n, m int) {
	a.Word(rdnm(0x4e20f400, d, n, m), "FMAX V%d.4S, V%d.4S, V%d.4S", d, n, m)
}

// FMAXV is the largest of Vn's 4 float32 lanes (NaN if one is) in Sd.
func (a Writer) FMAXV(d, n int) { a.Word(rdn(0x6e30f800, d, n), "FMAXV S%d, V%d.4S", d, n) }

// FCMEQ sets each word of Vd to all ones where Vn's float32 lane equals
// Vm's, else zero.
func (a Writer) FCMEQ(d, n, m int) {
	a.Word(rdnm(0x4e20e400, d, n, m), "FCMEQ V%d.4S, V%d.4S, V%d.4S", d, n, m)
}

// FCMGE sets each word of Vd to all ones where Vn's float32 lane is at
// least Vm's (false for NaN), else zero.
func (a Writer) FCMGE(d, n, m int) {
	a.Word(rdnm(0x6e20e400, d, n, m), "FCMGE V%d.4S, V%d.4S, V%d.4S", d, n, m)
}

// FCVTZS converts float32 lanes to signed words, rounding toward zero.
func (a Writer) FCVTZS(d, n int) { a.Word(rdn(0x4ea1b800, d, n), "FCVTZS V%d.4S, V%d.4S", d, n) }

// FCVTL2D widens the low (hi: high) 2 float32 lanes of Vn to float64.
func (a Writer) FCVTL2D(d, n int, hi bool) {
	if hi {
		a.Word(rdn(0x4e617800, d, n), "FCVTL2 V%d.2D, V%d.4S", d, n)
	} else {
		a.Word(rdn(0x0e617800, d, n), "FCVTL V%d.2D, V%d.2S", d, n)
	}
}

// FADD2D adds float64 lanes.
func (a Writer) FADD2D(d, n, m int) {
	a.Word(rdnm(0x4e60d400, d, n, m), "FADD V%d.2D, V%d.2D, V%d.2D", d, n, m)
}

// ADD adds 32-bit integer lanes.
func (a Writer) ADD(d, n, m int) {
	a.Word(rdnm(0x4ea08400, d, n, m), "ADD V%d.4S, V%d.4S, V%d.4S", d, n, m)
}

// SUB subtracts 32-bit integer lanes: Vd = Vn − Vm.
func (a Writer) SUB(d, n, m int) {
	a.Word(rdnm(0x6ea08400, d, n, m), "SUB V%d.4S, V%d.4S, V%d.4S", d, n, m)
}

// SHL shifts words left by sh (0–31).
func (a Writer) SHL(d, n, sh int) {
	a.Word(rdn(0x4f205400, d, n)|uint32(sh)<<16, "SHL V%d.4S, V%d.4S, #%d", d, n, sh)
}

// AND is the bitwise and of Vn and Vm.
func (a Writer) AND(d, n, m int) {
	a.Word(rdnm(0x4e201c00, d, n, m), "AND V%d.16B, V%d.16B, V%d.16B", d, n, m)
}

// ORR is the bitwise or of Vn and Vm.
func (a Writer) ORR(d, n, m int) {
	a.Word(rdnm(0x4ea01c00, d, n, m), "ORR V%d.16B, V%d.16B, V%d.16B", d, n, m)
}

// BIC is Vn and not Vm.
func (a Writer) BIC(d, n, m int) {
	a.Word(rdnm(0x4e601c00, d, n, m), "BIC V%d.16B, V%d.16B, V%d.16B", d, n, m)
}

// BIT inserts into Vd the bits of Vn where Vm's are set.
func (a Writer) BIT(d, n, m int) {
	a.Word(rdnm(0x6ea01c00, d, n, m), "BIT V%d.16B, V%d.16B, V%d.16B", d, n, m)
}

// DUPS sets every word of Vd to Wn.
func (a Writer) DUPS(d, n int) { a.Word(rdn(0x4e040c00, d, n), "DUP V%d.4S, W%d", d, n) }

// UMOVD moves doubleword idx (0 or 1) of Vn to Xd.
func (a Writer) UMOVD(d, n, idx int) {
	a.Word(rdn(0x4e083c00, d, n)|uint32(idx)<<20, "UMOV X%d, V%d.D[%d]", d, n, idx)
}

// LD1S4P loads 16 words from Xn into Vt..Vt+3, Xn += 64.
func (a Writer) LD1S4P(t, n int) {
	a.Word(rdn(0x4cdf2800, t, n), "LD1 {V%d.4S, V%d.4S, V%d.4S, V%d.4S}, [X%d], #64", t, t+1, t+2, t+3, n)
}

// ST1S4P stores Vt..Vt+3 (16 words) to Xn, Xn += 64.
func (a Writer) ST1S4P(t, n int) {
	a.Word(rdn(0x4c9f2800, t, n), "ST1 {V%d.4S, V%d.4S, V%d.4S, V%d.4S}, [X%d], #64", t, t+1, t+2, t+3, n)
}

// ST1D4 stores Vt..Vt+3 (8 doublewords) to Xn, Xn += 64.
func (a Writer) ST1D4(t, n int) {
	a.Word(rdn(0x4c9f2c00, t, n), "ST1 {V%d.2D, V%d.2D, V%d.2D, V%d.2D}, [X%d], #64", t, t+1, t+2, t+3, n)
}

// LD1D4 loads 8 doublewords from Xn into Vt..Vt+3, Xn += 64.
func (a Writer) LD1D4(t, n int) {
	a.Word(rdn(0x4cdf2c00, t, n), "LD1 {V%d.2D, V%d.2D, V%d.2D, V%d.2D}, [X%d], #64", t, t+1, t+2, t+3, n)
}

// ADDV sums Vn's 4 words into Sd (the rest of Vd cleared).
func (a Writer) ADDV(d, n int) { a.Word(rdn(0x4eb1b800, d, n), "ADDV S%d, V%d.4S", d, n) }

// FCVTN narrows Vn's 4 float32 lanes to float16 in the low half of Vd
// (rounding by FPCR: to nearest, ties to even, under Go).
func (a Writer) FCVTN(d, n int) { a.Word(rdn(0x0e216800, d, n), "FCVTN V%d.4H, V%d.4S", d, n) }

// UMAX is the larger of each pair of unsigned 32-bit lanes.
func (a Writer) UMAX(d, n, m int) {
	a.Word(rdnm(0x6ea06400, d, n, m), "UMAX V%d.4S, V%d.4S, V%d.4S", d, n, m)
}

// UMAXV is the largest of Vn's 4 unsigned words, in Sd.
func (a Writer) UMAXV(d, n int) { a.Word(rdn(0x6eb0a800, d, n), "UMAXV S%d, V%d.4S", d, n) }

// CMEQ sets each word of Vd to all ones where Vn's word equals Vm's, else
// zero.
func (a Writer) CMEQ(d, n, m int) {
	a.Word(rdnm(0x6ea08c00, d, n, m), "CMEQ V%d.4S, V%d.4S, V%d.4S", d, n, m)
}

// FCVTNS converts float32 lanes to signed words, rounding to nearest with
// ties to even (saturating; NaN gives 0).
func (a Writer) FCVTNS(d, n int) { a.Word(rdn(0x4e21a800, d, n), "FCVTNS V%d.4S, V%d.4S", d, n) }

// SQXTN narrows Vn's lanes to half their width with signed saturation:
// words to halfwords (bytes: halfwords to bytes) into the low half of Vd,
// the rest cleared, or (hi, SQXTN2) into its high half, the low half
// kept.
func (a Writer) SQXTN(d, n int, bytes, hi bool) {
	enc, from, to := uint32(0x0e614800), "4S", "4H"
	if bytes {
		enc, from, to = 0x0e214800, "8H", "8B"
	}
	op := "SQXTN"
	if hi {
		enc |= 1 << 30
		op = "SQXTN2"
		to = map[string]string{"4H": "8H", "8B": "16B"}[to]
	}
	a.Word(rdn(enc, d, n), "%s V%d.%s, V%d.%s", op, d, to, n, from)
}

// SADDLPB adds adjacent pairs of Vn's 16 signed bytes into 8 halfwords.
func (a Writer) SADDLPB(d, n int) { a.Word(rdn(0x4e202800, d, n), "SADDLP V%d.8H, V%d.16B", d, n) }

// ADDPH adds adjacent pairs of halfwords of Vn (the low 4 results) and of
// Vm (the high 4).
func (a Writer) ADDPH(d, n, m int) {
	a.Word(rdnm(0x4e60bc00, d, n, m), "ADDP V%d.8H, V%d.8H, V%d.8H", d, n, m)
}

// ST1B stores Vt's 16 bytes to Xn, Xn += 16.
func (a Writer) ST1B(t, n int) { a.Word(rdn(0x4c9f7000, t, n), "ST1 {V%d.16B}, [X%d], #16", t, n) }

// ST1H4 stores Vt's low 4 halfwords to Xn, Xn += 8.
func (a Writer) ST1H4(t, n int) { a.Word(rdn(0x0c9f7400, t, n), "ST1 {V%d.4H}, [X%d], #8", t, n) }

// FMLS is Vd −= Vn·Vm on float32 lanes (fused: one rounding).
func (a Writer) FMLS(d, n, m int) {
	a.Word(rdnm(0x4ea0cc00, d, n, m), "FMLS V%d.4S, V%d.4S, V%d.4S", d, n, m)
}

// FDIV divides float32 lanes: Vd = Vn / Vm.
func (a Writer) FDIV(d, n, m int) {
	a.Word(rdnm(0x6e20fc00, d, n, m), "FDIV V%d.4S, V%d.4S, V%d.4S", d, n, m)
}

// FCVTN2 narrows Vn's 4 float32 lanes to float16 in the high half of Vd,
// its low half kept.
func (a Writer) FCVTN2(d, n int) { a.Word(rdn(0x4e216800, d, n), "FCVTN2 V%d.8H, V%d.4S", d, n) }

// ST1S2 stores Vt, Vt+1 (8 words) to Xn, Xn += 32.
func (a Writer) ST1S2(t, n int) {
	a.Word(rdn(0x4c9fa800, t, n), "ST1 {V%d.4S, V%d.4S}, [X%d], #32", t, t+1, n)
}

// DUPElemS sets every word of Vd to word idx (0–3) of Vn.
func (a Writer) DUPElemS(d, n, idx int) {
	a.Word(rdn(0x4e040400, d, n)|uint32(idx)<<19, "DUP V%d.4S, V%d.S[%d]", d, n, idx)
}

// LD1B loads 16 bytes from Xn into Vt.
func (a Writer) LD1B(t, n int) { a.Word(rdn(0x4c407000, t, n), "LD1 {V%d.16B}, [X%d]", t, n) }

// LD1B2P loads 32 bytes from Xn into Vt, Vt+1, Xn += 32.
func (a Writer) LD1B2P(t, n int) {
	a.Word(rdn(0x4cdfa000, t, n), "LD1 {V%d.16B, V%d.16B}, [X%d], #32", t, t+1, n)
}
