//go:build !purego

#include "textflag.h"

// Constants of softmax4AVX2's exp (Cephes expf): the clamp, log2(e),
// ln 2 split in two (C1 + C2), the polynomial p0…p5, 1.0 and −∞.
DATA softmaxc<>+0(SB)/4, $0xc2ae0000  // −87
DATA softmaxc<>+4(SB)/4, $0x3fb8aa3b  // log2(e)
DATA softmaxc<>+8(SB)/4, $0x3f318000  // C1 = 0.693359375
DATA softmaxc<>+12(SB)/4, $0xb95e8083 // C2 = −2.12194440e-4
DATA softmaxc<>+16(SB)/4, $0x39506967 // p0 = 1.9875691500e-4
DATA softmaxc<>+20(SB)/4, $0x3ab743ce // p1 = 1.3981999507e-3
DATA softmaxc<>+24(SB)/4, $0x3c088908 // p2 = 8.3334519073e-3
DATA softmaxc<>+28(SB)/4, $0x3d2aa9c1 // p3 = 4.1665795894e-2
DATA softmaxc<>+32(SB)/4, $0x3e2aaaaa // p4 = 1.6666665459e-1
DATA softmaxc<>+36(SB)/4, $0x3f000000 // p5 = 0.5
DATA softmaxc<>+40(SB)/4, $0x3f800000 // 1
DATA softmaxc<>+44(SB)/4, $0xff800000 // −∞
GLOBL softmaxc<>(SB), RODATA|NOPTR, $48

// EXP sets o = exp(x) for x ≤ 0 lane by lane (x, n, t, o registers of one
// width; x, n and t are clobbered): x is clamped to −87 (a NaN stays NaN),
// k = round(x·log2 e), r = x − k·C1 − k·C2, exp(r) by Cephes' degree-7
// polynomial, times 2^k built in the exponent bits. Needs the constants
// in Y2…Y11 and FMA.
#define EXP(x, n, t, o) \
	VMAXPS       x, Y2, x; \
	VMULPS       Y3, x, n; \
	VCVTPS2DQ    n, n; \
	VCVTDQ2PS    n, t; \
	VFNMADD231PS Y4, t, x; \
	VFNMADD231PS Y5, t, x; \
	VMOVAPS      Y6, o; \
	VFMADD213PS  Y7, x, o; \
	VFMADD213PS  Y8, x, o; \
	VFMADD213PS  Y9, x, o; \
	VFMADD213PS  Y10, x, o; \
	VFMADD213PS  Y11, x, o; \
	VMULPS       x, x, t; \
	VFMADD213PS  x, t, o; \
	VBROADCASTSS softmaxc<>+40(SB), t; \
	VADDPS       t, o, o; \
	VPSLLD       $23, n, n; \
	VPADDD       t, n, n; \
	VMULPS       n, o, o

// EXPX is EXP on the low four lanes (X registers).
#define EXPX(x, n, t, o) \
	VMAXPS       x, X2, x; \
	VMULPS       X3, x, n; \
	VCVTPS2DQ    n, n; \
	VCVTDQ2PS    n, t; \
	VFNMADD231PS X4, t, x; \
	VFNMADD231PS X5, t, x; \
	VMOVAPS      X6, o; \
	VFMADD213PS  X7, x, o; \
	VFMADD213PS  X8, x, o; \
	VFMADD213PS  X9, x, o; \
	VFMADD213PS  X10, x, o; \
	VFMADD213PS  X11, x, o; \
	VMULPS       x, x, t; \
	VFMADD213PS  x, t, o; \
	VBROADCASTSS softmaxc<>+40(SB), t; \
	VADDPS       t, o, o; \
	VPSLLD       $23, n, n; \
	VPADDD       t, n, n; \
	VMULPS       n, o, o

// func softmax4AVX2(p *float32, n int)
// Four interleaved softmaxes: for h < 4, p[4j+h] = exp(p[4j+h] − m_h) /
// Σ_{j<n} exp(p[4j+h] − m_h), m_h = max_j p[4j+h] (n ≥ 1). Two keys (eight
// values) per step, the last key of an odd n alone. Needs AVX2 and FMA.
TEXT ·softmax4AVX2(SB), NOSPLIT, $0-16
	MOVQ p+0(FP), DI
	MOVQ n+8(FP), CX
	MOVQ CX, BX
	SHRQ $1, BX                          // key pairs

	// The four maxima, in both halves of Y0.
	VBROADCASTSS softmaxc<>+44(SB), Y0
	MOVQ         DI, SI
	MOVQ         BX, DX

smmax:
	TESTQ  DX, DX
	JZ     smmaxtail
	VMAXPS (SI), Y0, Y0
	ADDQ   $32, SI
	DECQ   DX
	JMP    smmax

smmaxtail:
	VEXTRACTF128 $1, Y0, X1
	VMAXPS       X1, X0, X0
	TESTQ        $1, CX
	JZ           smexp
	VMAXPS       (SI), X0, X0

smexp:
	VINSERTF128  $1, X0, Y0, Y0
	VBROADCASTSS softmaxc<>+0(SB), Y2
	VBROADCASTSS softmaxc<>+4(SB), Y3
	VBROADCASTSS softmaxc<>+8(SB), Y4
	VBROADCASTSS softmaxc<>+12(SB), Y5
	VBROADCASTSS softmaxc<>+16(SB), Y6
	VBROADCASTSS softmaxc<>+20(SB), Y7
	VBROADCASTSS softmaxc<>+24(SB), Y8
	VBROADCASTSS softmaxc<>+28(SB), Y9
	VBROADCASTSS softmaxc<>+32(SB), Y10
	VBROADCASTSS softmaxc<>+36(SB), Y11
	VXORPS       Y1, Y1, Y1
	MOVQ         DI, SI
	MOVQ         BX, DX

smexploop:
	TESTQ   DX, DX
	JZ      smexptail
	VMOVUPS (SI), Y12
	VSUBPS  Y0, Y12, Y12
	EXP(Y12, Y13, Y14, Y15)
	VMOVUPS Y15, (SI)
	VADDPS  Y15, Y1, Y1
	ADDQ    $32, SI
	DECQ    DX
	JMP     smexploop

smexptail:
	VEXTRACTF128 $1, Y1, X12
	VADDPS       X12, X1, X1
	TESTQ        $1, CX
	JZ           smscale
	VMOVUPS      (SI), X12
	VSUBPS       X0, X12, X12
	EXPX(X12, X13, X14, X15)
	VMOVUPS      X15, (SI)
	VADDPS       X15, X1, X1

smscale:
	VBROADCASTSS softmaxc<>+40(SB), X14
	VDIVPS       X1, X14, X1
	VINSERTF128  $1, X1, Y1, Y1
	MOVQ         DI, SI
	MOVQ         BX, DX

smscaleloop:
	TESTQ   DX, DX
	JZ      smscaletail
	VMULPS  (SI), Y1, Y12
	VMOVUPS Y12, (SI)
	ADDQ    $32, SI
	DECQ    DX
	JMP     smscaleloop

smscaletail:
	TESTQ   $1, CX
	JZ      smdone
	VMULPS  (SI), X1, X12
	VMOVUPS X12, (SI)

smdone:
	VZEROUPPER
	RET

// EXPZ is EXP on Z registers, the constants in Z2…Z11.
#define EXPZ(x, n, t, o) \
	VMAXPS       x, Z2, x; \
	VMULPS       Z3, x, n; \
	VCVTPS2DQ    n, n; \
	VCVTDQ2PS    n, t; \
	VFNMADD231PS Z4, t, x; \
	VFNMADD231PS Z5, t, x; \
	VMOVAPS      Z6, o; \
	VFMADD213PS  Z7, x, o; \
	VFMADD213PS  Z8, x, o; \
	VFMADD213PS  Z9, x, o; \
	VFMADD213PS  Z10, x, o; \
	VFMADD213PS  Z11, x, o; \
	VMULPS       x, x, t; \
	VFMADD213PS  x, t, o; \
	VBROADCASTSS softmaxc<>+40(SB), t; \
	VADDPS       t, o, o; \
	VPSLLD       $23, n, n; \
	VPADDD       t, n, n; \
	VMULPS       n, o, o

// LANES sets K3 to the lanes whose key range lo (Z16) … hi (Z17) holds
// key j (Z19).
#define LANES \
	VPCMPGTD Z17, Z19, K1; \
	VPCMPGTD Z19, Z16, K2; \
	KORW     K1, K2, K3; \
	KNOTW    K3, K3

// func softmax16AVX512(p *float32, ld, n int, lo, hi *int32, round bool)
// Sixteen softmaxes, one per lane of the rows p[ld·j … ld·j+15], j < n:
// lane i over its keys lo[i] ≤ j ≤ hi[i] (the other weights 0), the exp
// as softmax4AVX2's, the sum in float32, the weights rounded to binary16
// and back if round. Needs AVX-512F.
TEXT ·softmax16AVX512(SB), NOSPLIT, $0-41
	MOVQ         p+0(FP), DI
	MOVQ         ld+8(FP), R10
	SHLQ         $2, R10
	MOVQ         n+16(FP), CX
	MOVQ         lo+24(FP), AX
	MOVQ         hi+32(FP), BX
	MOVBLZX      round+40(FP), DX
	VMOVDQU32    (AX), Z16
	VMOVDQU32    (BX), Z17
	MOVL         $1, R8
	VPBROADCASTD R8, Z18
	VPXORD       Z19, Z19, Z19
	VBROADCASTSS softmaxc<>+44(SB), Z0
	MOVQ         DI, SI
	MOVQ         CX, R9

s16max:
	LANES
	VMAXPS (SI), Z0, K3, Z0
	VPADDD Z18, Z19, Z19
	ADDQ   R10, SI
	DECQ   R9
	JNZ    s16max

	VBROADCASTSS softmaxc<>+0(SB), Z2
	VBROADCASTSS softmaxc<>+4(SB), Z3
	VBROADCASTSS softmaxc<>+8(SB), Z4
	VBROADCASTSS softmaxc<>+12(SB), Z5
	VBROADCASTSS softmaxc<>+16(SB), Z6
	VBROADCASTSS softmaxc<>+20(SB), Z7
	VBROADCASTSS softmaxc<>+24(SB), Z8
	VBROADCASTSS softmaxc<>+28(SB), Z9
	VBROADCASTSS softmaxc<>+32(SB), Z10
	VBROADCASTSS softmaxc<>+36(SB), Z11
	VPXORD       Z1, Z1, Z1
	VPXORD       Z19, Z19, Z19
	VPXORD       Z20, Z20, Z20
	MOVQ         DI, SI
	MOVQ         CX, R9

s16exp:
	LANES
	VMOVUPS   (SI), Z12
	VSUBPS    Z0, Z12, Z12
	EXPZ(Z12, Z13, Z14, Z15)
	VBLENDMPS Z15, Z20, K3, Z15
	VMOVUPS   Z15, (SI)
	VADDPS    Z15, Z1, Z1
	VPADDD    Z18, Z19, Z19
	ADDQ      R10, SI
	DECQ      R9
	JNZ       s16exp

	VBROADCASTSS softmaxc<>+40(SB), Z14
	VDIVPS       Z1, Z14, Z1
	MOVQ         DI, SI
	MOVQ         CX, R9
	TESTQ        DX, DX
	JNZ          s16round

s16scale:
	VMULPS  (SI), Z1, Z12
	VMOVUPS Z12, (SI)
	ADDQ    R10, SI
	DECQ    R9
	JNZ     s16scale
	VZEROUPPER
	RET

s16round:
	VMULPS    (SI), Z1, Z12
	VCVTPS2PH $0, Z12, Y13
	VCVTPH2PS Y13, Z12
	VMOVUPS   Z12, (SI)
	ADDQ      R10, SI
	DECQ      R9
	JNZ       s16round
	VZEROUPPER
	RET
