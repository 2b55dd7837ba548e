//go:build ignore

// gen_asm writes simd_amd64.s and simd_decl_amd64.go: the AVX-512 kernels
// of package simd, each performing its *Generic reference's float32
// operations in the same order (no FMA), 16 elements per iteration; and
// simd_arm64.s: the NEON kernels of Argmax and the softmax family over the
// same blocks of 16 (see neon). Run with `go generate` in internal/simd
// (see simd_amd64.go) on any machine.
package main

import (
	"bytes"
	"fmt"
	"log"
	"math"
	"os"

	"github.com/zerfoo/zerfoo/internal/neonasm"
)

var out, decl bytes.Buffer

func p(format string, args ...any) { fmt.Fprintf(&out, "\t"+format+"\n", args...) }

func label(l string) { fmt.Fprintf(&out, "%s:\n", l) }

// bcast broadcasts the 32-bit pattern bits to register z.
func bcast(z string, bits uint32) {
	p("MOVL $0x%08x, AX", bits)
	p("VPBROADCASTD AX, %s", z)
}

func f32(z string, v float32) { bcast(z, math.Float32bits(v)) }

// fn starts a function: its Go declaration (doc, signature) and TEXT line.
func fn(name, sig, doc string, frame int) {
	fmt.Fprintf(&decl, "\n// %s %s\n//\n//go:noescape\nfunc %s%s\n", name, doc, name, sig)
	fmt.Fprintf(&out, "\n// func %s%s\nTEXT ·%s(SB), NOSPLIT, $0-%d\n", name, sig, name, frame)
}

// Comparison predicates of VCMPPS.
const (
	cmpUnord = 0x03
	cmpLTOQ  = 0x11
	cmpGEOQ  = 0x1d
)

func biasGelu() {
	fn("biasGeluAVX512", "(dst, x, bias *float32, blocks int)", "is biasGeluGeneric on blocks·16 elements.", 32)
	p("MOVQ dst+0(FP), DI")
	p("MOVQ x+8(FP), SI")
	p("MOVQ bias+16(FP), DX")
	p("MOVQ blocks+24(FP), CX")
	// constants
	f32("Z11", float32(1/math.Sqrt2))
	bcast("Z12", 0x7fffffff) // |·|
	bcast("Z13", 0x80000000) // sign
	f32("Z14", 0.3275911)
	f32("Z15", 1)
	f32("Z16", 1.061405429)
	f32("Z17", -1.453152027)
	f32("Z18", 1.421413741)
	f32("Z19", -0.284496736)
	f32("Z20", 0.254829592)
	f32("Z21", -87)
	f32("Z22", 1.442695)
	f32("Z23", 0.5)
	f32("Z24", 0.693359375)
	f32("Z25", -2.12194440e-4)
	f32("Z26", float32(1.0/720))
	f32("Z27", float32(1.0/120))
	f32("Z28", float32(1.0/24))
	f32("Z29", float32(1.0/6))
	bcast("Z30", 127)
	p("VPXORD Z31, Z31, Z31")
	label("gelu_loop")
	p("VMOVUPS (SI), Z0")
	p("VADDPS (DX), Z0, Z0")                  // v = x + bias
	p("VMULPS Z11, Z0, Z1")                   // z = v·(1/√2)
	p("VPANDD Z12, Z1, Z2")                   // a = |z|
	p("VMULPS Z14, Z2, Z3")                   // 0.3275911·a
	p("VADDPS Z15, Z3, Z3")                   // 1 + ·
	p("VDIVPS Z3, Z15, Z3")                   // t = 1 / ·
	p("VMULPS Z16, Z3, Z4")                   // t·a5
	p("VADDPS Z17, Z4, Z4")                   // a4 + ·
	p("VMULPS Z3, Z4, Z4")                    // t·(·)
	p("VADDPS Z18, Z4, Z4")                   // a3 + ·
	p("VMULPS Z3, Z4, Z4")                    //
	p("VADDPS Z19, Z4, Z4")                   // a2 + ·
	p("VMULPS Z3, Z4, Z4")                    //
	p("VADDPS Z20, Z4, Z4")                   // a1 + ·
	p("VMULPS Z3, Z4, Z4")                    // t·poly
	p("VMULPS Z2, Z2, Z5")                    // a·a
	p("VPXORD Z13, Z5, Z5")                   // y = −a·a
	p("VCMPPS $0x%02x, Z21, Z5, K1", cmpGEOQ) // y ≥ −87
	p("VMULPS Z22, Z5, Z6")                   // y·log2e
	p("VSUBPS Z23, Z6, Z6")                   // − 0.5
	p("VCVTTPS2DQ Z6, Z7")                    // int32, truncated
	p("VCVTDQ2PS Z7, Z6")                     // n
	p("VMULPS Z24, Z6, Z8")                   // n·ln2hi
	p("VSUBPS Z8, Z5, Z8")                    // y − ·
	p("VMULPS Z25, Z6, Z9")                   // n·ln2lo
	p("VSUBPS Z9, Z8, Z8")                    // r
	p("VMULPS Z26, Z8, Z9")                   // r/720
	p("VADDPS Z27, Z9, Z9")                   // 1/120 + ·
	p("VMULPS Z8, Z9, Z9")                    //
	p("VADDPS Z28, Z9, Z9")                   // 1/24 + ·
	p("VMULPS Z8, Z9, Z9")                    //
	p("VADDPS Z29, Z9, Z9")                   // 1/6 + ·
	p("VMULPS Z8, Z9, Z9")                    //
	p("VADDPS Z23, Z9, Z9")                   // 1/2 + ·
	p("VMULPS Z8, Z9, Z9")                    //
	p("VADDPS Z15, Z9, Z9")                   // 1 + ·
	p("VMULPS Z8, Z9, Z9")                    //
	p("VADDPS Z15, Z9, Z9")                   // 1 + ·
	p("VPADDD Z30, Z7, Z7")                   // n + 127
	p("VPSLLD $23, Z7, Z7")                   // 2^n
	p("VMULPS.Z Z7, Z9, K1, Z9")              // e^y, 0 where not y ≥ −87
	p("VMULPS Z9, Z4, Z4")                    // t·poly·e^y
	p("VSUBPS Z4, Z15, Z4")                   // erf(|z|)
	p("VCMPPS $0x%02x, Z31, Z1, K2", cmpLTOQ) // z < 0
	p("VPXORD Z13, Z4, K2, Z4")               // erf(z)
	p("VMULPS Z23, Z0, Z10")                  // 0.5·v
	p("VADDPS Z15, Z4, Z4")                   // 1 + erf
	p("VMULPS Z4, Z10, Z10")                  // GELU
	p("VMOVUPS Z10, (DI)")
	p("ADDQ $64, SI")
	p("ADDQ $64, DX")
	p("ADDQ $64, DI")
	p("DECQ CX")
	p("JNZ gelu_loop")
	p("VZEROUPPER")
	p("RET")
}

func minMax() {
	fn("minMaxAVX512", "(x *float32, blocks int, out *[32]float32)", "stores the per-lane minimum and maximum of 0 and blocks·16 elements (NaNs skipped) in out[:16] and out[16:].", 24)
	p("MOVQ x+0(FP), SI")
	p("MOVQ blocks+8(FP), CX")
	p("MOVQ out+16(FP), DI")
	p("VPXORD Z1, Z1, Z1")
	p("VPXORD Z2, Z2, Z2")
	label("minmax_loop")
	p("VMOVUPS (SI), Z0")
	// (x < lo) ? x : lo and (x > hi) ? x : hi: a NaN x keeps lo, hi
	p("VMINPS Z1, Z0, Z1")
	p("VMAXPS Z2, Z0, Z2")
	p("ADDQ $64, SI")
	p("DECQ CX")
	p("JNZ minmax_loop")
	p("VMOVUPS Z1, (DI)")
	p("VMOVUPS Z2, 64(DI)")
	p("VZEROUPPER")
	p("RET")
}

func quantize() {
	fn("quantizeAVX512", "(dst *uint8, x *float32, blocks int, p *quantArgs)", "is quantizeGeneric on blocks·16 elements.", 32)
	p("MOVQ dst+0(FP), DI")
	p("MOVQ x+8(FP), SI")
	p("MOVQ blocks+16(FP), CX")
	p("MOVQ p+24(FP), DX")
	p("VBROADCASTSS 0(DX), Z10")  // scale
	p("VBROADCASTSS 4(DX), Z11")  // z
	p("VBROADCASTSS 8(DX), Z12")  // lo
	p("VBROADCASTSS 12(DX), Z13") // hi
	p("VPBROADCASTD 16(DX), Z14") // nan code
	f32("Z15", 12582912)
	label("quant_loop")
	p("VMOVUPS (SI), Z0")
	p("VDIVPS Z10, Z0, Z1") // f = v/scale
	p("VADDPS Z15, Z1, Z1")
	p("VSUBPS Z15, Z1, Z1")
	p("VADDPS Z11, Z1, Z1") // round(f) + z
	p("VCMPPS $0x%02x, Z12, Z1, K1", cmpGEOQ)
	p("VMOVAPS Z12, Z2")
	p("VMOVAPS Z1, K1, Z2") // f ≥ lo ? f : lo
	p("VMINPS Z13, Z2, Z2") // min(f, hi)
	p("VCVTTPS2DQ Z2, Z2")
	p("VCMPPS $0x%02x, Z0, Z0, K2", cmpUnord)
	p("VMOVDQA32 Z14, K2, Z2") // NaN input: nan code
	p("VPMOVDB Z2, (DI)")
	p("ADDQ $64, SI")
	p("ADDQ $16, DI")
	p("DECQ CX")
	p("JNZ quant_loop")
	p("VZEROUPPER")
	p("RET")
}

func dequantize(signed bool) {
	name, ext, typ := "dequantizeU8AVX512", "VPMOVZXBD", "uint8"
	if signed {
		name, ext, typ = "dequantizeI8AVX512", "VPMOVSXBD", "int8"
	}
	fn(name, fmt.Sprintf("(dst *float32, x *%s, blocks int, z int32, scale float32)", typ), fmt.Sprintf("is dequantize%sGeneric on blocks·16 elements.", map[bool]string{false: "U8", true: "I8"}[signed]), 32)
	p("MOVQ dst+0(FP), DI")
	p("MOVQ x+8(FP), SI")
	p("MOVQ blocks+16(FP), CX")
	p("MOVL z+24(FP), AX")
	p("VPBROADCASTD AX, Z10")
	p("VBROADCASTSS scale+28(FP), Z11")
	l := name + "_loop"
	label(l)
	p("%s (SI), Z0", ext)
	p("VPSUBD Z10, Z0, Z0")
	p("VCVTDQ2PS Z0, Z0")
	p("VMULPS Z11, Z0, Z0")
	p("VMOVUPS Z0, (DI)")
	p("ADDQ $16, SI")
	p("ADDQ $64, DI")
	p("DECQ CX")
	p("JNZ %s", l)
	p("VZEROUPPER")
	p("RET")
}

func sumU8() {
	fn("sumU8AVX512", "(x *uint8, blocks int) int32", "is sumU8Generic on blocks·64 bytes.", 20)
	p("MOVQ x+0(FP), SI")
	p("MOVQ blocks+8(FP), CX")
	p("VPXORD Z1, Z1, Z1")
	p("VPXORD Z2, Z2, Z2")
	label("sum_loop")
	p("VPSADBW (SI), Z1, Z0") // 8 sums of 8 bytes
	p("VPADDQ Z0, Z2, Z2")
	p("ADDQ $64, SI")
	p("DECQ CX")
	p("JNZ sum_loop")
	p("VEXTRACTI64X4 $1, Z2, Y0")
	p("VPADDQ Y0, Y2, Y2")
	p("VEXTRACTI128 $1, Y2, X0")
	p("VPADDQ X0, X2, X2")
	p("VPSHUFD $0x4e, X2, X0")
	p("VPADDQ X0, X2, X2")
	p("VMOVD X2, AX")
	p("MOVL AX, ret+16(FP)")
	p("VZEROUPPER")
	p("RET")
}

func accF32() {
	fn("accF32AVX512", "(dst *float32, acc *int32, blocks int, add int32, sub *int32, mult, bias *float32)", "is accF32Generic on blocks·16 elements (bias nil: none).", 56)
	p("MOVQ dst+0(FP), DI")
	p("MOVQ acc+8(FP), SI")
	p("MOVQ blocks+16(FP), CX")
	p("MOVL add+24(FP), AX")
	p("VPBROADCASTD AX, Z10")
	p("MOVQ sub+32(FP), R8")
	p("MOVQ mult+40(FP), R9")
	p("MOVQ bias+48(FP), DX")
	p("TESTQ DX, DX")
	p("JZ accf32_nobias")
	label("accf32_bias")
	p("VMOVDQU32 (SI), Z0")
	p("VPADDD Z10, Z0, Z0")
	p("VPSUBD (R8), Z0, Z0")
	p("VCVTDQ2PS Z0, Z0")
	p("VMULPS (R9), Z0, Z0")
	p("VADDPS (DX), Z0, Z0")
	p("VMOVUPS Z0, (DI)")
	p("ADDQ $64, SI")
	p("ADDQ $64, R8")
	p("ADDQ $64, R9")
	p("ADDQ $64, DX")
	p("ADDQ $64, DI")
	p("DECQ CX")
	p("JNZ accf32_bias")
	p("VZEROUPPER")
	p("RET")
	label("accf32_nobias")
	p("VMOVDQU32 (SI), Z0")
	p("VPADDD Z10, Z0, Z0")
	p("VPSUBD (R8), Z0, Z0")
	p("VCVTDQ2PS Z0, Z0")
	p("VMULPS (R9), Z0, Z0")
	p("VMOVUPS Z0, (DI)")
	p("ADDQ $64, SI")
	p("ADDQ $64, R8")
	p("ADDQ $64, R9")
	p("ADDQ $64, DI")
	p("DECQ CX")
	p("JNZ accf32_nobias")
	p("VZEROUPPER")
	p("RET")
}

func requant() {
	fn("requantAVX512", "(dst *uint8, acc *int32, blocks int, sub *int32, mult *float32, p *requantArgs)", "is requantGeneric on blocks·16 elements.", 48)
	p("MOVQ dst+0(FP), DI")
	p("MOVQ acc+8(FP), SI")
	p("MOVQ blocks+16(FP), CX")
	p("MOVQ sub+24(FP), R8")
	p("MOVQ mult+32(FP), R9")
	p("MOVQ p+40(FP), DX")
	p("VPBROADCASTD 0(DX), Z10")  // add
	p("VPBROADCASTD 4(DX), Z11")  // z
	p("VBROADCASTSS 8(DX), Z12")  // lo
	p("VBROADCASTSS 12(DX), Z13") // hi
	f32("Z15", 12582912)
	label("requant_loop")
	p("VMOVDQU32 (SI), Z0")
	p("VPADDD Z10, Z0, Z0")
	p("VPSUBD (R8), Z0, Z0")
	p("VCVTDQ2PS Z0, Z0")
	p("VMULPS (R9), Z0, Z0")
	p("VMAXPS Z12, Z0, Z0") // (f > lo) ? f : lo
	p("VMINPS Z13, Z0, Z0") // (f < hi) ? f : hi
	p("VADDPS Z15, Z0, Z0")
	p("VSUBPS Z15, Z0, Z0")
	p("VCVTTPS2DQ Z0, Z0")
	p("VPADDD Z11, Z0, Z0")
	p("VPMOVDB Z0, (DI)")
	p("ADDQ $64, SI")
	p("ADDQ $64, R8")
	p("ADDQ $64, R9")
	p("ADDQ $16, DI")
	p("DECQ CX")
	p("JNZ requant_loop")
	p("VZEROUPPER")
	p("RET")
}

func softmax() {
	fn("maxAVX512", "(x *float32, blocks int, out *[16]float32)", "stores the per-lane maximum of blocks·16 elements in out, NaN in a lane that saw one.", 24)
	p("MOVQ x+0(FP), SI")
	p("MOVQ blocks+8(FP), CX")
	p("MOVQ out+16(FP), DI")
	p("VMOVUPS (SI), Z1")
	label("max_loop")
	p("VMOVUPS (SI), Z0")
	p("VMAXPS Z1, Z0, Z1") // (x > m) ? x : m
	p("VCMPPS $0x%02x, Z0, Z0, K1", cmpUnord)
	p("KORTESTW K1, K1")
	p("JZ max_next")
	p("VMOVAPS Z0, K1, Z1") // keep the NaN
	label("max_next")
	p("ADDQ $64, SI")
	p("DECQ CX")
	p("JNZ max_loop")
	p("VMOVUPS Z1, (DI)")
	p("VZEROUPPER")
	p("RET")

	fn("expSubAVX512", "(y, x *float32, blocks int, m float32, sums *[16]float64) int", "sets y = Exp(x − m) on blocks·16 elements and adds the results to sums by lane in float64; it returns the number of lanes with x − m in [−104, −87.33654), where Exp leaves its polynomial: those keep x − m in y (and add 0), lanes below are 0. x − m must not exceed 88.", 48)
	p("MOVQ y+0(FP), DI")
	p("MOVQ x+8(FP), SI")
	p("MOVQ blocks+16(FP), CX")
	p("VBROADCASTSS m+24(FP), Z20")
	p("MOVQ sums+32(FP), DX")
	p("XORQ BX, BX")
	for i, c := range expConsts {
		bcast(expZ(i), c)
	}
	p("VMOVUPD (DX), Z10")
	p("VMOVUPD 64(DX), Z11")
	label("exp_loop")
	p("VMOVUPS (SI), Z0")
	expPoly("Z", "Z20", expZ)
	p("VCMPPS $0x%02x, %s, Z0, K1", cmpGEOQ, expZ(11)) // in range
	p("VMULPS.Z Z4, Z3, K1, Z3")
	p("KNOTW K1, K2")
	p("VCMPPS $0x%02x, %s, Z0, K2, K2", cmpGEOQ, expZ(12)) // below range but not 0
	p("VMOVAPS Z3, Z7")
	p("VMOVAPS Z0, K2, Z7") // those keep x − m (negative), summed as 0
	p("VMOVUPS Z7, (DI)")
	p("KMOVW K2, AX")
	p("POPCNTL AX, AX")
	p("ADDQ AX, BX")
	p("VCVTPS2PD Y3, Z5")
	p("VADDPD Z5, Z10, Z10")
	p("VEXTRACTF64X4 $1, Z3, Y6")
	p("VCVTPS2PD Y6, Z6")
	p("VADDPD Z6, Z11, Z11")
	p("ADDQ $64, SI")
	p("ADDQ $64, DI")
	p("DECQ CX")
	p("JNZ exp_loop")
	p("VMOVUPD Z10, (DX)")
	p("VMOVUPD Z11, 64(DX)")
	p("MOVQ BX, ret+40(FP)")
	p("VZEROUPPER")
	p("RET")

	fn("scaleAVX512", "(y *float32, blocks int, s float32)", "multiplies blocks·16 elements of y by s.", 20)
	p("MOVQ y+0(FP), DI")
	p("MOVQ blocks+8(FP), CX")
	p("VBROADCASTSS s+16(FP), Z1")
	label("scale_loop")
	p("VMULPS (DI), Z1, Z0")
	p("VMOVUPS Z0, (DI)")
	p("ADDQ $64, DI")
	p("DECQ CX")
	p("JNZ scale_loop")
	p("VZEROUPPER")
	p("RET")
}

// expConsts are the constants of the expSub kernels: in registers in
// expSubAVX512 (expZ), in 32-byte vectors of expConstAVX2 at index·32 in
// expSubAVX2 (ec).
var expConsts = []uint32{
	math.Float32bits(float32(1.44269504088896341)), // 0 log2e
	math.Float32bits(12582912),                     // 1 magic
	math.Float32bits(0.693359375),                  // 2 ln2hi
	math.Float32bits(-2.12194440e-4),               // 3 ln2lo
	math.Float32bits(1.9875691500e-4),              // 4 c5
	math.Float32bits(1.3981999507e-3),              // 5
	math.Float32bits(8.3334519073e-3),              // 6
	math.Float32bits(4.1665795894e-2),              // 7
	math.Float32bits(1.6666665459e-1),              // 8
	math.Float32bits(5.0000001201e-1),              // 9
	math.Float32bits(1),                            // 10
	math.Float32bits(-87.33654),                    // 11
	math.Float32bits(-104),                         // 12
	127,                                            // 13
}

// expZ is the register of expConsts[i] in expSubAVX512.
func expZ(i int) string {
	return fmt.Sprintf("Z%d", []int{21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 19, 18, 17}[i])
}

// ec is expConstAVX2's vector i as a memory operand.
func ec(i int) string { return fmt.Sprintf("expConstAVX2<>+%d(SB)", 32*i) }

// expPoly emits Exp's float32 steps (simd.go's Exp, in its order, no FMA)
// on the vector x in v0 (v "Z" or "Y"): v0 = x − m (m the register of the
// maximum), v1 = fn, v2 = r, v3 = the polynomial's y·… + 1 and v4 = 2^n
// as an integer shift; c(i) is the operand of expConsts[i] (a register,
// or a memory operand).
func expPoly(v, m string, c func(i int) string) {
	r := func(i int) string { return fmt.Sprintf("%s%d", v, i) }
	p("VSUBPS %s, %s, %s", m, r(0), r(0))    // x − m
	p("VMULPS %s, %s, %s", c(0), r(0), r(1)) // x·log2e
	p("VADDPS %s, %s, %s", c(1), r(1), r(1)) // + magic
	p("VSUBPS %s, %s, %s", c(1), r(1), r(1)) // − magic: fn
	p("VMULPS %s, %s, %s", c(2), r(1), r(2)) // fn·ln2hi
	p("VSUBPS %s, %s, %s", r(2), r(0), r(2)) // x − ·
	p("VMULPS %s, %s, %s", c(3), r(1), r(3)) // fn·ln2lo
	p("VSUBPS %s, %s, %s", r(3), r(2), r(2)) // r
	p("VMULPS %s, %s, %s", c(4), r(2), r(3)) // c5·r
	for i := 5; i <= 8; i++ {
		p("VADDPS %s, %s, %s", c(i), r(3), r(3))
		p("VMULPS %s, %s, %s", r(2), r(3), r(3))
	}
	p("VADDPS %s, %s, %s", c(9), r(3), r(3))  // y
	p("VMULPS %s, %s, %s", r(2), r(3), r(3))  // y·r
	p("VMULPS %s, %s, %s", r(2), r(3), r(3))  // ·r
	p("VADDPS %s, %s, %s", r(2), r(3), r(3))  // + r
	p("VADDPS %s, %s, %s", c(10), r(3), r(3)) // + 1
	p("VCVTTPS2DQ %s, %s", r(1), r(4))        // n
	p("VPADDD %s, %s, %s", c(13), r(4), r(4))
	p("VPSLLD $23, %s, %s", r(4), r(4)) // 2^n
}

// softmaxAVX2 writes maxAVX2, expSubAVX2 and scaleAVX2: softmax's
// kernels for AVX2 CPUs without AVX-512, over the same blocks of 16
// elements as two 8-wide halves, with the same 16 lanes (the float64
// sums of expSubAVX2 are expSubAVX512's, bit for bit).
func softmaxAVX2() {
	for i, c := range expConsts {
		for j := 0; j < 8; j++ {
			fmt.Fprintf(&out, "DATA expConstAVX2<>+%d(SB)/4, $0x%08x\n", 32*i+4*j, c)
		}
	}
	fmt.Fprintf(&out, "GLOBL expConstAVX2<>(SB), RODATA|NOPTR, $%d\n", 32*len(expConsts))

	fn("maxAVX2", "(x *float32, blocks int, out *[16]float32)", "is maxAVX512 for CPUs with AVX2.", 24)
	p("MOVQ x+0(FP), SI")
	p("MOVQ blocks+8(FP), CX")
	p("MOVQ out+16(FP), DI")
	p("VMOVUPS (SI), Y1")
	p("VMOVUPS 32(SI), Y2")
	label("max_loop")
	for h, acc := range []string{"Y1", "Y2"} {
		p("VMOVUPS %d(SI), Y0", 32*h)
		p("VMAXPS %s, Y0, %s", acc, acc)          // (x > m) ? x : m
		p("VCMPPS $0x%02x, Y0, Y0, Y3", cmpUnord) // x is NaN
		p("VBLENDVPS Y3, Y0, %s, %s", acc, acc)   // keep the NaN
	}
	p("ADDQ $64, SI")
	p("DECQ CX")
	p("JNZ max_loop")
	p("VMOVUPS Y1, (DI)")
	p("VMOVUPS Y2, 32(DI)")
	p("VZEROUPPER")
	p("RET")

	fn("expSubAVX2", "(y, x *float32, blocks int, m float32, sums *[16]float64) int", "is expSubAVX512 for CPUs with AVX2.", 48)
	p("MOVQ y+0(FP), DI")
	p("MOVQ x+8(FP), SI")
	p("MOVQ blocks+16(FP), CX")
	p("VBROADCASTSS m+24(FP), Y8")
	p("MOVQ sums+32(FP), DX")
	p("XORQ BX, BX")
	for i := 0; i < 4; i++ {
		p("VMOVUPD %d(DX), Y%d", 32*i, 12+i)
	}
	label("exp_loop")
	for h := 0; h < 2; h++ {
		p("VMOVUPS %d(SI), Y0", 32*h)
		expPoly("Y", "Y8", ec)
		p("VCMPPS $0x%02x, %s, Y0, Y5", cmpGEOQ, ec(11)) // in range
		p("VMULPS Y4, Y3, Y3")
		p("VANDPS Y5, Y3, Y3")                           // out of range: 0
		p("VCMPPS $0x%02x, %s, Y0, Y6", cmpGEOQ, ec(12)) // ≥ −104
		p("VANDNPS Y6, Y5, Y6")                          // below range but not 0
		p("VBLENDVPS Y6, Y0, Y3, Y7")                    // those keep x − m, summed as 0
		p("VMOVUPS Y7, %d(DI)", 32*h)
		p("VMOVMSKPS Y6, AX")
		p("POPCNTL AX, AX")
		p("ADDQ AX, BX")
		p("VCVTPS2PD X3, Y6")
		p("VADDPD Y6, Y%d, Y%d", 12+2*h, 12+2*h)
		p("VEXTRACTF128 $1, Y3, X7")
		p("VCVTPS2PD X7, Y7")
		p("VADDPD Y7, Y%d, Y%d", 13+2*h, 13+2*h)
	}
	p("ADDQ $64, SI")
	p("ADDQ $64, DI")
	p("DECQ CX")
	p("JNZ exp_loop")
	for i := 0; i < 4; i++ {
		p("VMOVUPD Y%d, %d(DX)", 12+i, 32*i)
	}
	p("MOVQ BX, ret+40(FP)")
	p("VZEROUPPER")
	p("RET")

	fn("scaleAVX2", "(y *float32, blocks int, s float32)", "is scaleAVX512 for CPUs with AVX2.", 20)
	p("MOVQ y+0(FP), DI")
	p("MOVQ blocks+8(FP), CX")
	p("VBROADCASTSS s+16(FP), Y1")
	label("scale_loop")
	for h := 0; h < 2; h++ {
		p("VMULPS %d(DI), Y1, Y0", 32*h)
		p("VMOVUPS Y0, %d(DI)", 32*h)
	}
	p("ADDQ $64, DI")
	p("DECQ CX")
	p("JNZ scale_loop")
	p("VZEROUPPER")
	p("RET")
}

func addNorm() {
	fn("addAVX512", "(dst, x, y *float32, blocks int)", "is addGeneric on blocks·16 elements.", 32)
	p("MOVQ dst+0(FP), DI")
	p("MOVQ x+8(FP), SI")
	p("MOVQ y+16(FP), DX")
	p("MOVQ blocks+24(FP), CX")
	label("add_loop")
	p("VMOVUPS (SI), Z0")
	p("VADDPS (DX), Z0, Z0")
	p("VMOVUPS Z0, (DI)")
	p("ADDQ $64, SI")
	p("ADDQ $64, DX")
	p("ADDQ $64, DI")
	p("DECQ CX")
	p("JNZ add_loop")
	p("VZEROUPPER")
	p("RET")

	fn("sumF64AVX512", "(x *float32, blocks int, out *[16]float64)", "adds blocks·16 elements, widened to float64, to out by lane.", 24)
	p("MOVQ x+0(FP), SI")
	p("MOVQ blocks+8(FP), CX")
	p("MOVQ out+16(FP), DI")
	p("VMOVUPD (DI), Z10")
	p("VMOVUPD 64(DI), Z11")
	label("sumf64_loop")
	p("VCVTPS2PD (SI), Z0")
	p("VCVTPS2PD 32(SI), Z1")
	p("VADDPD Z0, Z10, Z10")
	p("VADDPD Z1, Z11, Z11")
	p("ADDQ $64, SI")
	p("DECQ CX")
	p("JNZ sumf64_loop")
	p("VMOVUPD Z10, (DI)")
	p("VMOVUPD Z11, 64(DI)")
	p("VZEROUPPER")
	p("RET")

	fn("sqDevF64AVX512", "(x *float32, blocks int, mu float64, out *[16]float64)", "adds (x − mu)² in float64 over blocks·16 elements to out by lane.", 32)
	p("MOVQ x+0(FP), SI")
	p("MOVQ blocks+8(FP), CX")
	p("VBROADCASTSD mu+16(FP), Z12")
	p("MOVQ out+24(FP), DI")
	p("VMOVUPD (DI), Z10")
	p("VMOVUPD 64(DI), Z11")
	label("sqdev_loop")
	p("VCVTPS2PD (SI), Z0")
	p("VCVTPS2PD 32(SI), Z1")
	p("VSUBPD Z12, Z0, Z0")
	p("VSUBPD Z12, Z1, Z1")
	p("VMULPD Z0, Z0, Z0")
	p("VMULPD Z1, Z1, Z1")
	p("VADDPD Z0, Z10, Z10")
	p("VADDPD Z1, Z11, Z11")
	p("ADDQ $64, SI")
	p("DECQ CX")
	p("JNZ sqdev_loop")
	p("VMOVUPD Z10, (DI)")
	p("VMOVUPD Z11, 64(DI)")
	p("VZEROUPPER")
	p("RET")

	fn("normF64AVX512", "(y, x, scale, bias *float32, blocks int, mu, is float64)", "is normGeneric on blocks·16 elements (bias nil: none).", 56)
	p("MOVQ y+0(FP), DI")
	p("MOVQ x+8(FP), SI")
	p("MOVQ scale+16(FP), R8")
	p("MOVQ bias+24(FP), DX")
	p("MOVQ blocks+32(FP), CX")
	p("VBROADCASTSD mu+40(FP), Z12")
	p("VBROADCASTSD is+48(FP), Z13")
	p("TESTQ DX, DX")
	p("JZ norm_nobias")
	label("norm_bias")
	for h := 0; h < 2; h++ {
		p("VCVTPS2PD %d(SI), Z0", 32*h)
		p("VSUBPD Z12, Z0, Z0")
		p("VMULPD Z13, Z0, Z0")
		p("VCVTPS2PD %d(R8), Z1", 32*h)
		p("VMULPD Z1, Z0, Z0")
		p("VCVTPS2PD %d(DX), Z1", 32*h)
		p("VADDPD Z1, Z0, Z0")
		p("VCVTPD2PS Z0, Y0")
		p("VMOVUPS Y0, %d(DI)", 32*h)
	}
	p("ADDQ $64, SI")
	p("ADDQ $64, R8")
	p("ADDQ $64, DX")
	p("ADDQ $64, DI")
	p("DECQ CX")
	p("JNZ norm_bias")
	p("VZEROUPPER")
	p("RET")
	label("norm_nobias")
	for h := 0; h < 2; h++ {
		p("VCVTPS2PD %d(SI), Z0", 32*h)
		p("VSUBPD Z12, Z0, Z0")
		p("VMULPD Z13, Z0, Z0")
		p("VCVTPS2PD %d(R8), Z1", 32*h)
		p("VMULPD Z1, Z0, Z0")
		p("VCVTPD2PS Z0, Y0")
		p("VMOVUPS Y0, %d(DI)", 32*h)
	}
	p("ADDQ $64, SI")
	p("ADDQ $64, R8")
	p("ADDQ $64, DI")
	p("DECQ CX")
	p("JNZ norm_nobias")
	p("VZEROUPPER")
	p("RET")
}

func requantDequant() {
	fn("requantDequantAVX512", "(dst *float32, acc *int32, blocks int, sub *int32, mult *float32, p *requantArgs)", "is requantDequantGeneric on blocks·16 elements.", 48)
	p("MOVQ dst+0(FP), DI")
	p("MOVQ acc+8(FP), SI")
	p("MOVQ blocks+16(FP), CX")
	p("MOVQ sub+24(FP), R8")
	p("MOVQ mult+32(FP), R9")
	p("MOVQ p+40(FP), DX")
	p("VPBROADCASTD 0(DX), Z10")  // add
	p("VPBROADCASTD 4(DX), Z11")  // z
	p("VBROADCASTSS 8(DX), Z12")  // lo
	p("VBROADCASTSS 12(DX), Z13") // hi
	p("VPBROADCASTD 16(DX), Z14") // z2
	p("VBROADCASTSS 20(DX), Z16") // s2
	f32("Z15", 12582912)
	label("reqdeq_loop")
	p("VMOVDQU32 (SI), Z0")
	p("VPADDD Z10, Z0, Z0")
	p("VPSUBD (R8), Z0, Z0")
	p("VCVTDQ2PS Z0, Z0")
	p("VMULPS (R9), Z0, Z0")
	p("VMAXPS Z12, Z0, Z0")
	p("VMINPS Z13, Z0, Z0")
	p("VADDPS Z15, Z0, Z0")
	p("VSUBPS Z15, Z0, Z0")
	p("VCVTTPS2DQ Z0, Z0")
	p("VPADDD Z11, Z0, Z0") // q
	p("VPSUBD Z14, Z0, Z0") // q − z2
	p("VCVTDQ2PS Z0, Z0")
	p("VMULPS Z16, Z0, Z0")
	p("VMOVUPS Z0, (DI)")
	p("ADDQ $64, SI")
	p("ADDQ $64, R8")
	p("ADDQ $64, R9")
	p("ADDQ $64, DI")
	p("DECQ CX")
	p("JNZ reqdeq_loop")
	p("VZEROUPPER")
	p("RET")
}

// rowsLoop emits the row and column loops of a row-block epilogue over
// the rowsArgs at BX: body sees the element at SI (acc), DI (dst), R8
// (sub), R9 (mult), R10 (bias), the row's add broadcast in Z10.
func rowsLoop(name string, body func()) {
	p("MOVQ p+0(FP), BX")
	p("MOVQ 0(BX), R11")  // dst row
	p("MOVQ 16(BX), R12") // acc row
	p("MOVQ 32(BX), R13") // rows
	p("MOVQ 48(BX), R14") // add
	label(name + "_row")
	p("VPBROADCASTD (R14), Z10")
	p("MOVQ R11, DI")
	p("MOVQ R12, SI")
	p("MOVQ 56(BX), R8")
	p("MOVQ 64(BX), R9")
	p("MOVQ 72(BX), R10")
	p("MOVQ 40(BX), CX")
	label(name + "_col")
	body()
	p("DECQ CX")
	p("JNZ %s_col", name)
	p("ADDQ 8(BX), R11")
	p("ADDQ 24(BX), R12")
	p("ADDQ $4, R14")
	p("DECQ R13")
	p("JNZ %s_row", name)
	p("VZEROUPPER")
	p("RET")
}

func epilogueRows() {
	fn("requantDequantRowsAVX512", "(p *rowsArgs)", "is RequantDequantRows on whole vectors.", 8)
	p("MOVQ p+0(FP), BX")
	p("VBROADCASTSS 80(BX), Z12") // lo
	p("VBROADCASTSS 84(BX), Z13") // hi
	p("VPBROADCASTD 88(BX), Z11") // z
	p("VPBROADCASTD 92(BX), Z14") // z2
	p("VBROADCASTSS 96(BX), Z16") // s2
	f32("Z15", 12582912)
	rowsLoop("rqdq", func() {
		p("VMOVDQU32 (SI), Z0")
		p("VPADDD Z10, Z0, Z0")
		p("VPSUBD (R8), Z0, Z0")
		p("VCVTDQ2PS Z0, Z0")
		p("VMULPS (R9), Z0, Z0")
		p("VMAXPS Z12, Z0, Z0")
		p("VMINPS Z13, Z0, Z0")
		p("VADDPS Z15, Z0, Z0")
		p("VSUBPS Z15, Z0, Z0")
		p("VCVTTPS2DQ Z0, Z0")
		p("VPADDD Z11, Z0, Z0")
		p("VPSUBD Z14, Z0, Z0")
		p("VCVTDQ2PS Z0, Z0")
		p("VMULPS Z16, Z0, Z0")
		p("VMOVUPS Z0, (DI)")
		p("ADDQ $64, SI")
		p("ADDQ $64, R8")
		p("ADDQ $64, R9")
		p("ADDQ $64, DI")
	})

	fn("accF32RowsAVX512", "(p *rowsArgs)", "is AccF32Rows on whole vectors.", 8)
	p("MOVQ p+0(FP), BX")
	p("MOVQ 72(BX), AX")
	p("TESTQ AX, AX")
	p("JZ accrows_nobias")
	rowsLoop("accrowsb", func() {
		p("VMOVDQU32 (SI), Z0")
		p("VPADDD Z10, Z0, Z0")
		p("VPSUBD (R8), Z0, Z0")
		p("VCVTDQ2PS Z0, Z0")
		p("VMULPS (R9), Z0, Z0")
		p("VADDPS (R10), Z0, Z0")
		p("VMOVUPS Z0, (DI)")
		p("ADDQ $64, SI")
		p("ADDQ $64, R8")
		p("ADDQ $64, R9")
		p("ADDQ $64, R10")
		p("ADDQ $64, DI")
	})
	label("accrows_nobias")
	rowsLoop("accrows", func() {
		p("VMOVDQU32 (SI), Z0")
		p("VPADDD Z10, Z0, Z0")
		p("VPSUBD (R8), Z0, Z0")
		p("VCVTDQ2PS Z0, Z0")
		p("VMULPS (R9), Z0, Z0")
		p("VMOVUPS Z0, (DI)")
		p("ADDQ $64, SI")
		p("ADDQ $64, R8")
		p("ADDQ $64, R9")
		p("ADDQ $64, DI")
	})
}

func main() {
	out.WriteString("// Code generated by gen_asm.go; DO NOT EDIT.\n\n//go:build !purego\n\n#include \"textflag.h\"\n")
	decl.WriteString("// Code generated by gen_asm.go; DO NOT EDIT.\n\n//go:build !purego\n\npackage simd\n")
	biasGelu()
	minMax()
	quantize()
	dequantize(false)
	dequantize(true)
	sumU8()
	accF32()
	requant()
	softmax()
	softmaxAVX2()
	addNorm()
	requantDequant()
	epilogueRows()
	neon()
	if err := os.WriteFile("simd_arm64.s", arm.Bytes(), 0o644); err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile("simd_amd64.s", out.Bytes(), 0o644); err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile("simd_decl_amd64.go", decl.Bytes(), 0o644); err != nil {
		log.Fatal(err)
	}
}

// arm holds simd_arm64.s; na writes the NEON instructions the Go
// assembler lacks into it (internal/neonasm, whose tests check them
// against GNU as).
var (
	arm bytes.Buffer
	na  = neonasm.Writer{W: &arm}
)

func pa(format string, args ...any) { fmt.Fprintf(&arm, "\t"+format+"\n", args...) }

// fnA starts an arm64 function (declared by hand in simd_arm64.go).
func fnA(name, sig string, frame int) {
	fmt.Fprintf(&arm, "\n// func %s%s\nTEXT ·%s(SB), NOSPLIT, $0-%d\n", name, sig, name, frame)
}

// neon writes the arm64 kernels: Argmax's maxOrNaNNEON and firstEqNEON,
// and softmax's maxNEON, expSubNEON and scaleNEON, over blocks of 16
// elements (four vectors of 4) as the AVX-512 kernels, so that the
// float64 lane sums of expSubNEON are expSubAVX512's bit for bit: the same
// float32 steps (expConsts, no fused multiply-add), the same 16 lanes.
// FMAX gives NaN where either input is NaN, so the maxima carry a NaN
// without the AVX kernels' explicit check.
func neon() {
	arm.WriteString("// Code generated by gen_asm.go; DO NOT EDIT.\n\n//go:build !purego\n\n#include \"textflag.h\"\n")

	// R0 x, R1 blocks; V0–V3 the running maxima, V4–V7 the next block.
	fnA("maxOrNaNNEON", "(x *float32, blocks int) float32", 20)
	pa("MOVD x+0(FP), R0")
	pa("MOVD blocks+8(FP), R1")
	neonMaxLoop("mon_loop")
	na.FMAX(0, 0, 1)
	na.FMAX(2, 2, 3)
	na.FMAX(0, 0, 2)
	na.FMAXV(0, 0)
	pa("FMOVS F0, ret+16(FP)")
	pa("RET")

	// R0 x, R1 blocks left, R3 the block's index; V8 m in every lane.
	fnA("firstEqNEON", "(x *float32, blocks int, m float32) int", 32)
	pa("MOVD x+0(FP), R0")
	pa("MOVD blocks+8(FP), R1")
	pa("MOVWU m+16(FP), R2")
	na.DUPS(8, 2)
	pa("MOVD ZR, R3")
	fmt.Fprintf(&arm, "feq_loop:\n")
	na.LD1S4P(0, 0)
	for i := range 4 {
		na.FCMEQ(i, i, 8)
	}
	na.ORR(0, 0, 1)
	na.ORR(2, 2, 3)
	na.ORR(0, 0, 2)
	na.UMOVD(4, 0, 0)
	na.UMOVD(5, 0, 1)
	pa("ORR R5, R4, R4")
	pa("CBNZ R4, feq_found")
	pa("ADD $1, R3, R3")
	pa("SUBS $1, R1, R1")
	pa("BNE feq_loop")
	fmt.Fprintf(&arm, "feq_found:\n")
	pa("MOVD R3, ret+24(FP)")
	pa("RET")

	fnA("maxNEON", "(x *float32, blocks int, out *[16]float32)", 24)
	pa("MOVD x+0(FP), R0")
	pa("MOVD blocks+8(FP), R1")
	pa("MOVD out+16(FP), R2")
	neonMaxLoop("max_loop")
	na.ST1S4(0, 2)
	pa("RET")

	// R0 y, R1 x, R2 blocks, R4 sums; V16–V29 expConsts, V30 m, V31 the
	// count of lanes left to the caller (as −1 per lane), V8–V15 the 16
	// float64 lane sums (V8+j lanes 2j, 2j+1); per vector of 4, V0 x − m,
	// V1 fn, V2 r, V3 the result, V4 2^n, V5 and V6 the range masks.
	fnA("expSubNEON", "(y, x *float32, blocks int, m float32, sums *[16]float64) int", 48)
	pa("MOVD y+0(FP), R0")
	pa("MOVD x+8(FP), R1")
	pa("MOVD blocks+16(FP), R2")
	pa("MOVWU m+24(FP), R3")
	na.DUPS(30, 3)
	pa("MOVD sums+32(FP), R4")
	for i, c := range expConsts {
		pa("MOVW $0x%08x, R3", c)
		na.DUPS(16+i, 3)
	}
	na.MOVI0(31)
	pa("MOVD R4, R5")
	na.LD1D4(8, 5)
	na.LD1D4(12, 5)
	c := func(i int) int { return 16 + i }
	fmt.Fprintf(&arm, "exp_loop:\n")
	for j := range 4 {
		na.LD1S(0, 1)
		na.FSUB(0, 0, 30) // x − m
		na.FMUL(1, 0, c(0))
		na.FADD(1, 1, c(1))
		na.FSUB(1, 1, c(1)) // fn
		na.FMUL(2, 1, c(2))
		na.FSUB(2, 0, 2)
		na.FMUL(3, 1, c(3))
		na.FSUB(2, 2, 3) // r
		na.FMUL(3, 2, c(4))
		for i := 5; i <= 8; i++ {
			na.FADD(3, 3, c(i))
			na.FMUL(3, 3, 2)
		}
		na.FADD(3, 3, c(9))
		na.FMUL(3, 3, 2)
		na.FMUL(3, 3, 2)
		na.FADD(3, 3, 2)
		na.FADD(3, 3, c(10))
		na.FCVTZS(4, 1) // n
		na.ADD(4, 4, c(13))
		na.SHL(4, 4, 23) // 2^n
		na.FMUL(3, 3, 4)
		na.FCMGE(5, 0, c(11)) // in range
		na.AND(3, 3, 5)
		na.FCMGE(6, 0, c(12))
		na.BIC(6, 6, 5) // below range but not 0: keep x − m
		na.SUB(31, 31, 6)
		na.AND(7, 0, 6)
		na.ORR(7, 7, 3)
		na.ST1S(7, 0)
		na.FCVTL2D(4, 3, false)
		na.FADD2D(8+2*j, 8+2*j, 4)
		na.FCVTL2D(5, 3, true)
		na.FADD2D(9+2*j, 9+2*j, 5)
	}
	pa("SUBS $1, R2, R2")
	pa("BNE exp_loop")
	na.ST1D4(8, 4)
	na.ST1D4(12, 4)
	na.ADDV(31, 31)
	na.UMOVD(6, 31, 0)
	pa("MOVD R6, ret+40(FP)")
	pa("RET")

	fnA("scaleNEON", "(y *float32, blocks int, s float32)", 20)
	pa("MOVD y+0(FP), R0")
	pa("MOVD blocks+8(FP), R1")
	pa("MOVWU s+16(FP), R2")
	na.DUPS(4, 2)
	fmt.Fprintf(&arm, "scale_loop:\n")
	na.LD1S4(0, 0)
	for i := range 4 {
		na.FMUL(i, i, 4)
	}
	na.ST1S4P(0, 0)
	pa("SUBS $1, R1, R1")
	pa("BNE scale_loop")
	pa("RET")
}

// neonMaxLoop emits the lane maxima of the R1 blocks of 16 at R0 into
// V0–V3 (loop: the label of the loop).
func neonMaxLoop(loop string) {
	na.LD1S4(0, 0)
	fmt.Fprintf(&arm, "%s:\n", loop)
	na.LD1S4P(4, 0)
	for i := range 4 {
		na.FMAX(i, i, 4+i)
	}
	pa("SUBS $1, R1, R1")
	pa("BNE %s", loop)
}
