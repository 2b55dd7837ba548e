//go:build !purego

#include "textflag.h"

// func dotAVX2(a, b *float32, n int) float32
// n must be a multiple of 8.
TEXT ·dotAVX2(SB), NOSPLIT, $0-28
	MOVQ   a+0(FP), SI
	MOVQ   b+8(FP), DI
	MOVQ   n+16(FP), CX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3

dot32:
	CMPQ        CX, $32
	JL          dot8
	VMOVUPS     (SI), Y4
	VMOVUPS     32(SI), Y5
	VMOVUPS     64(SI), Y6
	VMOVUPS     96(SI), Y7
	VFMADD231PS (DI), Y4, Y0
	VFMADD231PS 32(DI), Y5, Y1
	VFMADD231PS 64(DI), Y6, Y2
	VFMADD231PS 96(DI), Y7, Y3
	ADDQ        $128, SI
	ADDQ        $128, DI
	SUBQ        $32, CX
	JMP         dot32

dot8:
	CMPQ        CX, $8
	JL          dotdone
	VMOVUPS     (SI), Y4
	VFMADD231PS (DI), Y4, Y0
	ADDQ        $32, SI
	ADDQ        $32, DI
	SUBQ        $8, CX
	JMP         dot8

dotdone:
	VADDPS       Y1, Y0, Y0
	VADDPS       Y3, Y2, Y2
	VADDPS       Y2, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS       X1, X0, X0
	VHADDPS      X0, X0, X0
	VHADDPS      X0, X0, X0
	VZEROUPPER
	MOVSS        X0, ret+24(FP)
	RET

// func axpyAVX2(y, x *float32, a float32, n int)
// n must be a multiple of 8.
TEXT ·axpyAVX2(SB), NOSPLIT, $0-32
	MOVQ         y+0(FP), DI
	MOVQ         x+8(FP), SI
	VBROADCASTSS a+16(FP), Y0
	MOVQ         n+24(FP), CX

axpy32:
	CMPQ        CX, $32
	JL          axpy8
	VMOVUPS     (DI), Y1
	VMOVUPS     32(DI), Y2
	VMOVUPS     64(DI), Y3
	VMOVUPS     96(DI), Y4
	VFMADD231PS (SI), Y0, Y1
	VFMADD231PS 32(SI), Y0, Y2
	VFMADD231PS 64(SI), Y0, Y3
	VFMADD231PS 96(SI), Y0, Y4
	VMOVUPS     Y1, (DI)
	VMOVUPS     Y2, 32(DI)
	VMOVUPS     Y3, 64(DI)
	VMOVUPS     Y4, 96(DI)
	ADDQ        $128, SI
	ADDQ        $128, DI
	SUBQ        $32, CX
	JMP         axpy32

axpy8:
	CMPQ        CX, $8
	JL          axpydone
	VMOVUPS     (DI), Y1
	VFMADD231PS (SI), Y0, Y1
	VMOVUPS     Y1, (DI)
	ADDQ        $32, SI
	ADDQ        $32, DI
	SUBQ        $8, CX
	JMP         axpy8

axpydone:
	VZEROUPPER
	RET

// func scores4AVX2(q0, q1, q2, q3, k *float32, ldk, hd, n int, out *float32)
// out[4j+h] = Σ_{d<hd} qh[d]·k[j·ldk+d] for j < n, h < 4 (hd a multiple of 8).
TEXT ·scores4AVX2(SB), NOSPLIT, $0-72
	MOVQ q0+0(FP), R8
	MOVQ q1+8(FP), R9
	MOVQ q2+16(FP), R10
	MOVQ q3+24(FP), R11
	MOVQ k+32(FP), SI
	MOVQ ldk+40(FP), BX
	SHLQ $2, BX
	MOVQ hd+48(FP), DX
	SHLQ $2, DX
	MOVQ n+56(FP), CX
	MOVQ out+64(FP), DI

sckey:
	TESTQ  CX, CX
	JZ     scdone
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	XORQ   AX, AX

scd:
	VMOVUPS     (SI)(AX*1), Y4
	VFMADD231PS (R8)(AX*1), Y4, Y0
	VFMADD231PS (R9)(AX*1), Y4, Y1
	VFMADD231PS (R10)(AX*1), Y4, Y2
	VFMADD231PS (R11)(AX*1), Y4, Y3
	ADDQ        $32, AX
	CMPQ        AX, DX
	JL          scd
	VHADDPS      Y1, Y0, Y0
	VHADDPS      Y3, Y2, Y2
	VHADDPS      Y2, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS       X1, X0, X0
	VMOVUPS      X0, (DI)
	ADDQ         $16, DI
	ADDQ         BX, SI
	DECQ         CX
	JMP          sckey

scdone:
	VZEROUPPER
	RET

// func values4AVX2(p, v *float32, ldv, hd, n int, out *float32)
// out[h·hd+d] += Σ_{j<n} p[4j+h]·v[j·ldv+d] for h < 4, d < hd (hd a
// multiple of 16).
TEXT ·values4AVX2(SB), NOSPLIT, $0-48
	MOVQ p+0(FP), R8
	MOVQ v+8(FP), SI
	MOVQ ldv+16(FP), BX
	SHLQ $2, BX
	MOVQ hd+24(FP), DX
	SHLQ $2, DX
	MOVQ n+32(FP), R12
	MOVQ out+40(FP), DI
	LEAQ (DX)(DX*2), R10 // 3·hd bytes
	XORQ AX, AX

vachunk:
	CMPQ    AX, DX
	JGE     vadone
	LEAQ    (DI)(AX*1), R9
	VMOVUPS (R9), Y0
	VMOVUPS 32(R9), Y1
	VMOVUPS (R9)(DX*1), Y2
	VMOVUPS 32(R9)(DX*1), Y3
	VMOVUPS (R9)(DX*2), Y4
	VMOVUPS 32(R9)(DX*2), Y5
	VMOVUPS (R9)(R10*1), Y6
	VMOVUPS 32(R9)(R10*1), Y7
	MOVQ    R8, R11
	LEAQ    (SI)(AX*1), R13
	MOVQ    R12, CX

vaj:
	TESTQ        CX, CX
	JZ           vastore
	VMOVUPS      (R13), Y8
	VMOVUPS      32(R13), Y9
	VBROADCASTSS (R11), Y10
	VFMADD231PS  Y8, Y10, Y0
	VFMADD231PS  Y9, Y10, Y1
	VBROADCASTSS 4(R11), Y11
	VFMADD231PS  Y8, Y11, Y2
	VFMADD231PS  Y9, Y11, Y3
	VBROADCASTSS 8(R11), Y12
	VFMADD231PS  Y8, Y12, Y4
	VFMADD231PS  Y9, Y12, Y5
	VBROADCASTSS 12(R11), Y13
	VFMADD231PS  Y8, Y13, Y6
	VFMADD231PS  Y9, Y13, Y7
	ADDQ         $16, R11
	ADDQ         BX, R13
	DECQ         CX
	JMP          vaj

vastore:
	VMOVUPS Y0, (R9)
	VMOVUPS Y1, 32(R9)
	VMOVUPS Y2, (R9)(DX*1)
	VMOVUPS Y3, 32(R9)(DX*1)
	VMOVUPS Y4, (R9)(DX*2)
	VMOVUPS Y5, 32(R9)(DX*2)
	VMOVUPS Y6, (R9)(R10*1)
	VMOVUPS Y7, 32(R9)(R10*1)
	ADDQ    $64, AX
	JMP     vachunk

vadone:
	VZEROUPPER
	RET

// func gegluAVX2(out, gate, u *float32, n int, table *float32)
// out[i] = t(gate[i])·u[i] with t(x) = table[fp16bits(x)] for −10 < x < 10, x for
// x ≥ 10, 0 for x ≤ −10 (n a multiple of 8). Needs F16C.
TEXT ·gegluAVX2(SB), NOSPLIT, $0-40
	MOVQ         out+0(FP), DI
	MOVQ         gate+8(FP), SI
	MOVQ         u+16(FP), DX
	MOVQ         n+24(FP), CX
	MOVQ         table+32(FP), AX
	MOVL         $0x41200000, BX // 10.0
	MOVQ         BX, X15
	VBROADCASTSS X15, Y15
	MOVL         $0xc1200000, BX // −10.0
	MOVQ         BX, X14
	VBROADCASTSS X14, Y14

geloop:
	CMPQ       CX, $8
	JL         gedone
	VMOVUPS    (SI), Y0
	VCVTPS2PH  $0, Y0, X1
	VPMOVZXWD  X1, Y2
	VPCMPEQD   Y3, Y3, Y3
	VXORPS     Y4, Y4, Y4
	VGATHERDPS Y3, (AX)(Y2*4), Y4
	VCMPPS     $0x1d, Y15, Y0, Y5 // x ≥ 10
	VBLENDVPS  Y5, Y0, Y4, Y4
	VCMPPS     $0x12, Y14, Y0, Y6 // x ≤ −10
	VANDNPS    Y4, Y6, Y4
	VMULPS     (DX), Y4, Y4
	VMOVUPS    Y4, (DI)
	ADDQ       $32, SI
	ADDQ       $32, DX
	ADDQ       $32, DI
	SUBQ       $8, CX
	JMP        geloop

gedone:
	VZEROUPPER
	RET

// func sumSquaresAVX2(x *float32, n int) float64
// Σ float64(x[i]·x[i]) (squares rounded to float32, summed in float64; n a
// multiple of 8).
TEXT ·sumSquaresAVX2(SB), NOSPLIT, $0-24
	MOVQ   x+0(FP), SI
	MOVQ   n+8(FP), CX
	VXORPD Y0, Y0, Y0
	VXORPD Y1, Y1, Y1

ssloop:
	CMPQ         CX, $8
	JL           ssdone
	VMOVUPS      (SI), Y2
	VMULPS       Y2, Y2, Y2
	VCVTPS2PD    X2, Y3
	VEXTRACTF128 $1, Y2, X4
	VCVTPS2PD    X4, Y5
	VADDPD       Y3, Y0, Y0
	VADDPD       Y5, Y1, Y1
	ADDQ         $32, SI
	SUBQ         $8, CX
	JMP          ssloop

ssdone:
	VADDPD       Y1, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPD       X1, X0, X0
	VHADDPD      X0, X0, X0
	VZEROUPPER
	MOVSD        X0, ret+16(FP)
	RET

// func scaleMulAVX2(y, x, w *float32, scale float32, n int)
// y[i] = (x[i]·scale)·w[i], two rounded products (n a multiple of 8).
TEXT ·scaleMulAVX2(SB), NOSPLIT, $0-40
	MOVQ         y+0(FP), DI
	MOVQ         x+8(FP), SI
	MOVQ         w+16(FP), DX
	VBROADCASTSS scale+24(FP), Y0
	MOVQ         n+32(FP), CX

smloop:
	CMPQ    CX, $8
	JL      smdone
	VMULPS  (SI), Y0, Y1
	VMULPS  (DX), Y1, Y1
	VMOVUPS Y1, (DI)
	ADDQ    $32, SI
	ADDQ    $32, DX
	ADDQ    $32, DI
	SUBQ    $8, CX
	JMP     smloop

smdone:
	VZEROUPPER
	RET

// func roundQ8AVX2(dst, x *float32, blocks int)
// Rounds each block of 32 values to Q8_0 as roundQ8_0Generic does: d =
// fp16(amax/127), q = rint(x·(127/amax)), dst = q·d. Needs F16C.
TEXT ·roundQ8AVX2(SB), NOSPLIT, $0-24
	MOVQ         dst+0(FP), DI
	MOVQ         x+8(FP), SI
	MOVQ         blocks+16(FP), CX
	MOVQ         $0x7fffffff, AX
	MOVQ         AX, X15
	VBROADCASTSS X15, Y15
	MOVQ         $0x42fe0000, AX // 127.0
	MOVQ         AX, X14

rqloop:
	TESTQ        CX, CX
	JZ           rqdone
	VMOVUPS      (SI), Y0
	VMOVUPS      32(SI), Y1
	VMOVUPS      64(SI), Y2
	VMOVUPS      96(SI), Y3
	VANDPS       Y15, Y0, Y4
	VANDPS       Y15, Y1, Y5
	VANDPS       Y15, Y2, Y6
	VANDPS       Y15, Y3, Y7
	VMAXPS       Y5, Y4, Y4
	VMAXPS       Y7, Y6, Y6
	VMAXPS       Y6, Y4, Y4
	VEXTRACTF128 $1, Y4, X5
	VMAXPS       X5, X4, X4
	VPERMILPS    $0x4e, X4, X5
	VMAXPS       X5, X4, X4
	VPERMILPS    $0xb1, X4, X5
	VMAXPS       X5, X4, X4     // every lane: amax
	VDIVSS       X14, X4, X6    // amax/127
	VCVTPS2PH    $0, X6, X7
	VCVTPH2PS    X7, X7         // d
	VBROADCASTSS X7, Y7
	VXORPS       Y9, Y9, Y9
	VUCOMISS     X9, X4
	JEQ          rqscale        // amax = 0: id = 0
	VDIVSS       X4, X14, X9    // 127/amax
	VBROADCASTSS X9, Y9

rqscale:
	VMULPS   Y9, Y0, Y0
	VMULPS   Y9, Y1, Y1
	VMULPS   Y9, Y2, Y2
	VMULPS   Y9, Y3, Y3
	VROUNDPS $8, Y0, Y0
	VROUNDPS $8, Y1, Y1
	VROUNDPS $8, Y2, Y2
	VROUNDPS $8, Y3, Y3
	VMULPS   Y7, Y0, Y0
	VMULPS   Y7, Y1, Y1
	VMULPS   Y7, Y2, Y2
	VMULPS   Y7, Y3, Y3
	VMOVUPS  Y0, (DI)
	VMOVUPS  Y1, 32(DI)
	VMOVUPS  Y2, 64(DI)
	VMOVUPS  Y3, 96(DI)
	ADDQ     $128, SI
	ADDQ     $128, DI
	DECQ     CX
	JMP      rqloop

rqdone:
	VZEROUPPER
	RET

// func toF16AVX2(dst *uint16, src *float32, n int)
// dst[i] = binary16(src[i]), rounded to nearest even (n a multiple of 8).
// Needs F16C.
TEXT ·toF16AVX2(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX

h16loop:
	CMPQ      CX, $8
	JL        h16done
	VMOVUPS   (SI), Y0
	VCVTPS2PH $0, Y0, X1
	VMOVUPS   X1, (DI)
	ADDQ      $32, SI
	ADDQ      $16, DI
	SUBQ      $8, CX
	JMP       h16loop

h16done:
	VZEROUPPER
	RET

// func scores4F16AVX2(q0, q1, q2, q3 *float32, k *uint16, ldk, hd, n int, out *float32)
// out[4j+h] = Σ_{d<hd} qh[d]·widen(k[j·ldk+d]) for j < n, h < 4 (hd a
// multiple of 8): scores4AVX2 with each key widened from binary16 as it is
// loaded. Needs F16C.
TEXT ·scores4F16AVX2(SB), NOSPLIT, $0-72
	MOVQ q0+0(FP), R8
	MOVQ q1+8(FP), R9
	MOVQ q2+16(FP), R10
	MOVQ q3+24(FP), R11
	MOVQ k+32(FP), SI
	MOVQ ldk+40(FP), BX
	SHLQ $1, BX
	MOVQ hd+48(FP), DX
	SHLQ $1, DX          // bytes of one key head
	MOVQ n+56(FP), CX
	MOVQ out+64(FP), DI

	// Two keys at a time: eight independent accumulator chains, the
	// queries loaded once for both.
shpair:
	CMPQ   CX, $2
	JL     shkey
	LEAQ   (SI)(BX*1), R12 // the second key
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	XORQ   AX, AX

shpd:
	VCVTPH2PS   (SI)(AX*1), Y8
	VCVTPH2PS   (R12)(AX*1), Y9
	VMOVUPS     (R8)(AX*2), Y10
	VMOVUPS     (R9)(AX*2), Y11
	VMOVUPS     (R10)(AX*2), Y12
	VMOVUPS     (R11)(AX*2), Y13
	VFMADD231PS Y10, Y8, Y0
	VFMADD231PS Y11, Y8, Y1
	VFMADD231PS Y12, Y8, Y2
	VFMADD231PS Y13, Y8, Y3
	VFMADD231PS Y10, Y9, Y4
	VFMADD231PS Y11, Y9, Y5
	VFMADD231PS Y12, Y9, Y6
	VFMADD231PS Y13, Y9, Y7
	ADDQ        $16, AX
	CMPQ        AX, DX
	JL          shpd
	VHADDPS      Y1, Y0, Y0
	VHADDPS      Y3, Y2, Y2
	VHADDPS      Y2, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS       X1, X0, X0
	VMOVUPS      X0, (DI)
	VHADDPS      Y5, Y4, Y4
	VHADDPS      Y7, Y6, Y6
	VHADDPS      Y6, Y4, Y4
	VEXTRACTF128 $1, Y4, X5
	VADDPS       X5, X4, X4
	VMOVUPS      X4, 16(DI)
	ADDQ         $32, DI
	LEAQ         (R12)(BX*1), SI
	SUBQ         $2, CX
	JMP          shpair

shkey:
	TESTQ  CX, CX
	JZ     shdone
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	XORQ   AX, AX        // key bytes; the queries' offset is 2·AX

shd:
	VCVTPH2PS   (SI)(AX*1), Y4
	VFMADD231PS (R8)(AX*2), Y4, Y0
	VFMADD231PS (R9)(AX*2), Y4, Y1
	VFMADD231PS (R10)(AX*2), Y4, Y2
	VFMADD231PS (R11)(AX*2), Y4, Y3
	ADDQ        $16, AX
	CMPQ        AX, DX
	JL          shd
	VHADDPS      Y1, Y0, Y0
	VHADDPS      Y3, Y2, Y2
	VHADDPS      Y2, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS       X1, X0, X0
	VMOVUPS      X0, (DI)
	ADDQ         $16, DI
	ADDQ         BX, SI
	DECQ         CX
	JMP          shkey

shdone:
	VZEROUPPER
	RET

// func values4F16AVX2(p *float32, v *uint16, ldv, hd, n int, out *float32)
// out[h·hd+d] += Σ_{j<n} p[4j+h]·widen(v[j·ldv+d]) for h < 4, d < hd (hd a
// multiple of 16): values4AVX2 with each value widened from binary16 as it
// is loaded. Needs F16C.
TEXT ·values4F16AVX2(SB), NOSPLIT, $0-48
	MOVQ p+0(FP), R8
	MOVQ v+8(FP), SI
	MOVQ ldv+16(FP), BX
	SHLQ $1, BX
	MOVQ hd+24(FP), DX
	SHLQ $2, DX
	MOVQ n+32(FP), R12
	MOVQ out+40(FP), DI
	LEAQ (DX)(DX*2), R10 // 3·hd bytes
	XORQ AX, AX          // output bytes; the values' offset is AX/2

vhchunk:
	CMPQ    AX, DX
	JGE     vhdone
	LEAQ    (DI)(AX*1), R9
	VMOVUPS (R9), Y0
	VMOVUPS 32(R9), Y1
	VMOVUPS (R9)(DX*1), Y2
	VMOVUPS 32(R9)(DX*1), Y3
	VMOVUPS (R9)(DX*2), Y4
	VMOVUPS 32(R9)(DX*2), Y5
	VMOVUPS (R9)(R10*1), Y6
	VMOVUPS 32(R9)(R10*1), Y7
	MOVQ    R8, R11
	MOVQ    AX, R14
	SHRQ    $1, R14
	LEAQ    (SI)(R14*1), R13
	MOVQ    R12, CX

vhj:
	TESTQ        CX, CX
	JZ           vhstore
	VCVTPH2PS    (R13), Y8
	VCVTPH2PS    16(R13), Y9
	VBROADCASTSS (R11), Y10
	VFMADD231PS  Y8, Y10, Y0
	VFMADD231PS  Y9, Y10, Y1
	VBROADCASTSS 4(R11), Y11
	VFMADD231PS  Y8, Y11, Y2
	VFMADD231PS  Y9, Y11, Y3
	VBROADCASTSS 8(R11), Y12
	VFMADD231PS  Y8, Y12, Y4
	VFMADD231PS  Y9, Y12, Y5
	VBROADCASTSS 12(R11), Y13
	VFMADD231PS  Y8, Y13, Y6
	VFMADD231PS  Y9, Y13, Y7
	ADDQ         $16, R11
	ADDQ         BX, R13
	DECQ         CX
	JMP          vhj

vhstore:
	VMOVUPS Y0, (R9)
	VMOVUPS Y1, 32(R9)
	VMOVUPS Y2, (R9)(DX*1)
	VMOVUPS Y3, 32(R9)(DX*1)
	VMOVUPS Y4, (R9)(DX*2)
	VMOVUPS Y5, 32(R9)(DX*2)
	VMOVUPS Y6, (R9)(R10*1)
	VMOVUPS Y7, 32(R9)(R10*1)
	ADDQ    $64, AX
	JMP     vhchunk

vhdone:
	VZEROUPPER
	RET

// func scores4Q8AVX2(q0, q1, q2, q3 *float32, k *byte, ldk, hd, n int, out *float32)
// out[4j+h] = Σ_{d<hd} qh[d]·key_j[d] for j < n, h < 4, where key_j is the
// Q8_0 blocks at k + j·ldk (34 bytes per 32 values, hd a multiple of 32),
// each value code·fp16 scale: scores4AVX2 over the dequantized keys. Needs
// F16C.
TEXT ·scores4Q8AVX2(SB), NOSPLIT, $0-72
	MOVQ q0+0(FP), R8
	MOVQ q1+8(FP), R9
	MOVQ q2+16(FP), R10
	MOVQ q3+24(FP), R11
	MOVQ k+32(FP), SI
	MOVQ ldk+40(FP), BX
	MOVQ hd+48(FP), DX
	SHLQ $2, DX          // bytes of one query head
	MOVQ n+56(FP), CX
	MOVQ out+64(FP), DI

sqkey:
	TESTQ  CX, CX
	JZ     sqdone
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	XORQ   AX, AX        // block bytes
	XORQ   R14, R14      // query bytes

sqblk:
	VPBROADCASTW (SI)(AX*1), X10
	VCVTPH2PS    X10, Y10          // the block's scale in every lane
	VPMOVSXBD    2(SI)(AX*1), Y4
	VCVTDQ2PS    Y4, Y4
	VMULPS       Y10, Y4, Y4
	VFMADD231PS  (R8)(R14*1), Y4, Y0
	VFMADD231PS  (R9)(R14*1), Y4, Y1
	VFMADD231PS  (R10)(R14*1), Y4, Y2
	VFMADD231PS  (R11)(R14*1), Y4, Y3
	VPMOVSXBD    10(SI)(AX*1), Y4
	VCVTDQ2PS    Y4, Y4
	VMULPS       Y10, Y4, Y4
	VFMADD231PS  32(R8)(R14*1), Y4, Y0
	VFMADD231PS  32(R9)(R14*1), Y4, Y1
	VFMADD231PS  32(R10)(R14*1), Y4, Y2
	VFMADD231PS  32(R11)(R14*1), Y4, Y3
	VPMOVSXBD    18(SI)(AX*1), Y4
	VCVTDQ2PS    Y4, Y4
	VMULPS       Y10, Y4, Y4
	VFMADD231PS  64(R8)(R14*1), Y4, Y0
	VFMADD231PS  64(R9)(R14*1), Y4, Y1
	VFMADD231PS  64(R10)(R14*1), Y4, Y2
	VFMADD231PS  64(R11)(R14*1), Y4, Y3
	VPMOVSXBD    26(SI)(AX*1), Y4
	VCVTDQ2PS    Y4, Y4
	VMULPS       Y10, Y4, Y4
	VFMADD231PS  96(R8)(R14*1), Y4, Y0
	VFMADD231PS  96(R9)(R14*1), Y4, Y1
	VFMADD231PS  96(R10)(R14*1), Y4, Y2
	VFMADD231PS  96(R11)(R14*1), Y4, Y3
	ADDQ         $34, AX
	ADDQ         $128, R14
	CMPQ         R14, DX
	JL           sqblk
	VHADDPS      Y1, Y0, Y0
	VHADDPS      Y3, Y2, Y2
	VHADDPS      Y2, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS       X1, X0, X0
	VMOVUPS      X0, (DI)
	ADDQ         $16, DI
	ADDQ         BX, SI
	DECQ         CX
	JMP          sqkey

sqdone:
	VZEROUPPER
	RET

// func values4Q8AVX2(p *float32, v *byte, ldv, hd, n int, out *float32)
// out[h·hd+d] += Σ_{j<n} p[4j+h]·value_j[d] for h < 4, d < hd, where
// value_j is the Q8_0 blocks at v + j·ldv (hd a multiple of 32), each value
// code·fp16 scale: values4AVX2 over the dequantized values. Needs F16C.
TEXT ·values4Q8AVX2(SB), NOSPLIT, $0-48
	MOVQ p+0(FP), R8
	MOVQ v+8(FP), SI     // the block of the current chunk of 16 columns
	MOVQ ldv+16(FP), BX
	MOVQ hd+24(FP), DX
	SHLQ $2, DX
	MOVQ n+32(FP), R12
	MOVQ out+40(FP), DI
	LEAQ (DX)(DX*2), R10 // 3·hd bytes
	XORQ AX, AX          // output bytes (64 per chunk, two chunks per block)

vqchunk:
	CMPQ    AX, DX
	JGE     vqdone
	LEAQ    (DI)(AX*1), R9
	VMOVUPS (R9), Y0
	VMOVUPS 32(R9), Y1
	VMOVUPS (R9)(DX*1), Y2
	VMOVUPS 32(R9)(DX*1), Y3
	VMOVUPS (R9)(DX*2), Y4
	VMOVUPS 32(R9)(DX*2), Y5
	VMOVUPS (R9)(R10*1), Y6
	VMOVUPS 32(R9)(R10*1), Y7
	MOVQ    R8, R11
	MOVQ    AX, R14
	ANDQ    $64, R14
	SHRQ    $2, R14              // 16 for the second half of a block
	LEAQ    2(SI)(R14*1), R13    // the chunk's codes in row 0
	MOVQ    SI, R14              // the block's scale in row 0
	MOVQ    R12, CX

vqj:
	TESTQ        CX, CX
	JZ           vqstore
	VPBROADCASTW (R14), X14
	VCVTPH2PS    X14, Y14
	VPMOVSXBD    (R13), Y8
	VPMOVSXBD    8(R13), Y9
	VCVTDQ2PS    Y8, Y8
	VCVTDQ2PS    Y9, Y9
	VMULPS       Y14, Y8, Y8
	VMULPS       Y14, Y9, Y9
	VBROADCASTSS (R11), Y10
	VFMADD231PS  Y8, Y10, Y0
	VFMADD231PS  Y9, Y10, Y1
	VBROADCASTSS 4(R11), Y11
	VFMADD231PS  Y8, Y11, Y2
	VFMADD231PS  Y9, Y11, Y3
	VBROADCASTSS 8(R11), Y12
	VFMADD231PS  Y8, Y12, Y4
	VFMADD231PS  Y9, Y12, Y5
	VBROADCASTSS 12(R11), Y13
	VFMADD231PS  Y8, Y13, Y6
	VFMADD231PS  Y9, Y13, Y7
	ADDQ         $16, R11
	ADDQ         BX, R13
	ADDQ         BX, R14
	DECQ         CX
	JMP          vqj

vqstore:
	VMOVUPS Y0, (R9)
	VMOVUPS Y1, 32(R9)
	VMOVUPS Y2, (R9)(DX*1)
	VMOVUPS Y3, 32(R9)(DX*1)
	VMOVUPS Y4, (R9)(DX*2)
	VMOVUPS Y5, 32(R9)(DX*2)
	VMOVUPS Y6, (R9)(R10*1)
	VMOVUPS Y7, 32(R9)(R10*1)
	TESTQ   $64, AX
	JZ      vqnext
	ADDQ    $34, SI              // both halves done: the next block

vqnext:
	ADDQ $64, AX
	JMP  vqchunk

vqdone:
	VZEROUPPER
	RET

// func roundF16AVX2(dst, src *float32, n int)
// dst[i] = widen(binary16(src[i])), rounded to nearest even (n a multiple
// of 8). Needs F16C.
TEXT ·roundF16AVX2(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX

r16loop:
	CMPQ      CX, $8
	JL        r16done
	VMOVUPS   (SI), Y0
	VCVTPS2PH $0, Y0, X1
	VCVTPH2PS X1, Y1
	VMOVUPS   Y1, (DI)
	ADDQ      $32, SI
	ADDQ      $32, DI
	SUBQ      $8, CX
	JMP       r16loop

r16done:
	VZEROUPPER
	RET
