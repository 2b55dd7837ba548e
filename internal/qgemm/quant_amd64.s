//go:build !purego

#include "textflag.h"

// func quantizeRowAVX512(src *float32, k, bs int, qa *int8, sa *float32, suma *int32, stride int)
//
// quantizeRows for one row: for each block b of bs elements of src[:k]
// (the last one n = k − b·bs ≤ bs long), am = max|x| (taken on the
// sign-cleared bits, as absMax), sa[b·stride] = am/127, inv = 127/am (0
// when am is 0), qa[b·bs+i] = clamp(roundEven(src·inv), −128, 127) for
// i < n (the float32 product rounded by VCVTPS2DQ in the default
// round-to-nearest-even mode; NaN gives −128 as in roundEven) and
// suma[b·stride] = their sum. stride is in elements. Bytes of qa past n
// in the last block are not written.
TEXT ·quantizeRowAVX512(SB), NOSPLIT, $0-56
	MOVQ src+0(FP), SI
	MOVQ k+8(FP), R8
	MOVQ bs+16(FP), R9
	MOVQ qa+24(FP), DI
	MOVQ sa+32(FP), R10
	MOVQ suma+40(FP), R11
	MOVQ stride+48(FP), R12
	SHLQ $2, R12
	MOVL $0x7fffffff, AX
	VPBROADCASTD AX, Z16
	MOVL $-128, AX
	VPBROADCASTD AX, Z17
	MOVL $127, AX
	VPBROADCASTD AX, Z18
	MOVL $0x42fe0000, AX // 127.0
	VMOVD AX, X19

block:
	MOVQ R9, CX
	CMPQ R8, R9
	CMOVQLT R8, CX // n = min(bs, remaining)

	// am = max over the block of the sign-cleared bits.
	MOVQ SI, R13
	MOVQ CX, DX
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
max32:
	CMPQ DX, $32
	JL max16
	VPANDD (R13), Z16, Z2
	VPANDD 64(R13), Z16, Z3
	VPMAXUD Z2, Z0, Z0
	VPMAXUD Z3, Z1, Z1
	ADDQ $128, R13
	SUBQ $32, DX
	JMP max32
max16:
	CMPQ DX, $16
	JL maxtail
	VPANDD (R13), Z16, Z2
	VPMAXUD Z2, Z0, Z0
	ADDQ $64, R13
	SUBQ $16, DX
maxtail:
	TESTQ DX, DX
	JZ maxreduce
	MOVL $1, AX
	SHLXL DX, AX, AX
	DECL AX
	KMOVW AX, K1
	VMOVDQU32.Z (R13), K1, Z2
	VPANDD Z2, Z16, Z2
	VPMAXUD Z2, Z0, Z0
maxreduce:
	VPMAXUD Z1, Z0, Z0
	VEXTRACTI64X4 $1, Z0, Y1
	VPMAXUD Y1, Y0, Y0
	VEXTRACTI128 $1, Y0, X1
	VPMAXUD X1, X0, X0
	VPSHUFD $0x4e, X0, X1
	VPMAXUD X1, X0, X0
	VPSHUFD $0xb1, X0, X1
	VPMAXUD X1, X0, X0 // X0 = am

	// sa = am/127; inv = 127/am, or 0 when am is 0.
	VDIVSS X19, X0, X1
	VMOVSS X1, (R10)
	VPXORD Z4, Z4, Z4
	VMOVD X0, AX
	TESTL AX, AX
	JZ scaled
	VDIVSS X0, X19, X4
	VBROADCASTSS X4, Z4
scaled:

	// qa = clamp(round(src·inv)), suma = Σ qa.
	MOVQ CX, DX
	MOVQ DI, R13
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
q32:
	CMPQ DX, $32
	JL q16
	VMULPS (SI), Z4, Z2
	VMULPS 64(SI), Z4, Z3
	VCVTPS2DQ Z2, Z2
	VCVTPS2DQ Z3, Z3
	VPMAXSD Z17, Z2, Z2
	VPMAXSD Z17, Z3, Z3
	VPMINSD Z18, Z2, Z2
	VPMINSD Z18, Z3, Z3
	VPADDD Z2, Z0, Z0
	VPADDD Z3, Z1, Z1
	VPMOVDB Z2, (R13)
	VPMOVDB Z3, 16(R13)
	ADDQ $128, SI
	ADDQ $32, R13
	SUBQ $32, DX
	JMP q32
q16:
	CMPQ DX, $16
	JL qtail
	VMULPS (SI), Z4, Z2
	VCVTPS2DQ Z2, Z2
	VPMAXSD Z17, Z2, Z2
	VPMINSD Z18, Z2, Z2
	VPADDD Z2, Z0, Z0
	VPMOVDB Z2, (R13)
	ADDQ $64, SI
	ADDQ $16, R13
	SUBQ $16, DX
qtail:
	TESTQ DX, DX
	JZ qreduce
	MOVL $1, AX
	SHLXL DX, AX, AX
	DECL AX
	KMOVW AX, K1
	VMOVUPS.Z (SI), K1, Z2
	VMULPS Z2, Z4, Z2
	VCVTPS2DQ Z2, Z2
	VPMAXSD Z17, Z2, Z2
	VPMINSD Z18, Z2, Z2
	VMOVDQA32.Z Z2, K1, Z3
	VPADDD Z3, Z0, Z0
	VPMOVDB Z2, K1, (R13)
	LEAQ (SI)(DX*4), SI
qreduce:
	VPADDD Z1, Z0, Z0
	VEXTRACTI64X4 $1, Z0, Y1
	VPADDD Y1, Y0, Y0
	VEXTRACTI128 $1, Y0, X1
	VPADDD X1, X0, X0
	VPSHUFD $0x4e, X0, X1
	VPADDD X1, X0, X0
	VPSHUFD $0xb1, X0, X1
	VPADDD X1, X0, X0
	VMOVD X0, (R11)

	ADDQ R9, DI
	ADDQ R12, R10
	ADDQ R12, R11
	SUBQ CX, R8
	JG block
	VZEROUPPER
	RET

// func quantizeRowAVX2(src *float32, nblocks, bs int, qa *int8, sa *float32, suma *int32, stride int)
//
// quantizeRowAVX512 for AVX2, for nblocks whole blocks of bs elements (bs a
// multiple of 8); the caller quantizes a partial last block.
TEXT ·quantizeRowAVX2(SB), NOSPLIT, $0-56
	MOVQ src+0(FP), SI
	MOVQ nblocks+8(FP), R8
	MOVQ bs+16(FP), R9
	MOVQ qa+24(FP), DI
	MOVQ sa+32(FP), R10
	MOVQ suma+40(FP), R11
	MOVQ stride+48(FP), R12
	SHLQ $2, R12
	MOVL $0x7fffffff, AX
	MOVQ AX, X8
	VPBROADCASTD X8, Y8
	MOVL $-128, AX
	MOVQ AX, X9
	VPBROADCASTD X9, Y9
	MOVL $127, AX
	MOVQ AX, X10
	VPBROADCASTD X10, Y10
	MOVL $0x42fe0000, AX // 127.0
	MOVQ AX, X11
	TESTQ R8, R8
	JZ done

block:
	// am = max over the block of the sign-cleared bits.
	MOVQ SI, R13
	MOVQ R9, DX
	VPXOR Y0, Y0, Y0
	VPXOR Y1, Y1, Y1
max16:
	CMPQ DX, $16
	JL max8
	VPAND (R13), Y8, Y2
	VPAND 32(R13), Y8, Y3
	VPMAXUD Y2, Y0, Y0
	VPMAXUD Y3, Y1, Y1
	ADDQ $64, R13
	SUBQ $16, DX
	JMP max16
max8:
	TESTQ DX, DX
	JZ maxreduce
	VPAND (R13), Y8, Y2
	VPMAXUD Y2, Y0, Y0
maxreduce:
	VPMAXUD Y1, Y0, Y0
	VEXTRACTI128 $1, Y0, X1
	VPMAXUD X1, X0, X0
	VPSHUFD $0x4e, X0, X1
	VPMAXUD X1, X0, X0
	VPSHUFD $0xb1, X0, X1
	VPMAXUD X1, X0, X0 // X0 = am

	// sa = am/127; inv = 127/am, or 0 when am is 0.
	VDIVSS X11, X0, X1
	VMOVSS X1, (R10)
	VPXOR Y4, Y4, Y4
	VMOVD X0, AX
	TESTL AX, AX
	JZ scaled
	VDIVSS X0, X11, X4
	VBROADCASTSS X4, Y4
scaled:

	// qa = clamp(round(src·inv)), suma = Σ qa.
	MOVQ R9, DX
	MOVQ DI, R13
	VPXOR Y0, Y0, Y0
q8:
	VMULPS (SI), Y4, Y2
	VCVTPS2DQ Y2, Y2
	VPMAXSD Y9, Y2, Y2
	VPMINSD Y10, Y2, Y2
	VPADDD Y2, Y0, Y0
	VEXTRACTI128 $1, Y2, X3
	VPACKSSDW X3, X2, X2
	VPACKSSWB X2, X2, X2
	MOVQ X2, (R13)
	ADDQ $32, SI
	ADDQ $8, R13
	SUBQ $8, DX
	JG q8
	VEXTRACTI128 $1, Y0, X1
	VPADDD X1, X0, X0
	VPSHUFD $0x4e, X0, X1
	VPADDD X1, X0, X0
	VPSHUFD $0xb1, X0, X1
	VPADDD X1, X0, X0
	VMOVD X0, (R11)

	ADDQ R9, DI
	ADDQ R12, R10
	ADDQ R12, R11
	DECQ R8
	JNZ block
done:
	VZEROUPPER
	RET

// Q8K_CHUNK quantizes one chunk of 64 codes of a Q8_K block: the 64
// values at a, b, c, d(SI) times the scale in Z8, rounded, clamped to 127
// (Z17) and narrowed to bytes stored at o(DI); then its four 16-code sums
// as words of unsigned bytes (code + 128, Z18) summed by VPSADBW (Z23 is
// zero) in halves of 8, into s.
#define Q8K_CHUNK(a, b, c, d, o, s) \
	VMULPS a(SI), Z8, Z0; \
	VMULPS b(SI), Z8, Z1; \
	VMULPS c(SI), Z8, Z2; \
	VMULPS d(SI), Z8, Z3; \
	VCVTPS2DQ Z0, Z0; \
	VCVTPS2DQ Z1, Z1; \
	VCVTPS2DQ Z2, Z2; \
	VCVTPS2DQ Z3, Z3; \
	VPMINSD Z17, Z0, Z0; \
	VPMINSD Z17, Z1, Z1; \
	VPMINSD Z17, Z2, Z2; \
	VPMINSD Z17, Z3, Z3; \
	VPMOVDB Z0, X24; \
	VPMOVDB Z1, X25; \
	VPMOVDB Z2, X26; \
	VPMOVDB Z3, X27; \
	VINSERTI32X4 $1, X25, Z24, Z24; \
	VINSERTI32X4 $2, X26, Z24, Z24; \
	VINSERTI32X4 $3, X27, Z24, Z24; \
	VMOVDQU64 Z24, o(DI); \
	VPXORD Z18, Z24, Z24; \
	VPSADBW Z23, Z24, Z24; \
	VPMOVQW Z24, s

// func quantizeQ8KAVX512(src *float32, nsb int, qa *int8, d *float32, bsums *int16) int
//
// quantizeQ8KGo on AVX-512 for nsb super-blocks of 256 values: for each,
// am = max|x| (on the sign-cleared bits), vmax the first value with
// |vmax| = am, iscale = −127/vmax, qa[i] = min(127, roundEven(x[i]·iscale))
// (the float32 product rounded by VCVTPS2DQ in the default
// round-to-nearest-even mode, as nearestInt rounds it), d = 1/iscale and
// bsums[j] = the sum of qa[16j : 16j+16]; a block whose am is 0 gets
// d = 0, qa = 0 and bsums = 0. It stops before the first block whose am
// is not finite (an infinity or a NaN, left to the Go code) and returns the
// number of blocks it quantized.
TEXT ·quantizeQ8KAVX512(SB), NOSPLIT, $0-48
	MOVQ src+0(FP), SI
	MOVQ nsb+8(FP), CX
	MOVQ qa+16(FP), DI
	MOVQ d+24(FP), R8
	MOVQ bsums+32(FP), R9
	XORQ R11, R11 // blocks done
	MOVL $0x7fffffff, AX
	VPBROADCASTD AX, Z16
	MOVL $127, AX
	VPBROADCASTD AX, Z17
	MOVL $0x80808080, AX
	VPBROADCASTD AX, Z18
	MOVL $0x00010001, AX
	VPBROADCASTD AX, Z19
	MOVL $2048, AX // 16·128: the bias of 16 codes read as unsigned
	VPBROADCASTD AX, Z20
	MOVL $0xc2fe0000, AX // −127.0
	VMOVD AX, X21
	MOVL $0x3f800000, AX // 1.0
	VMOVD AX, X22
	VPXORD Z23, Z23, Z23
	TESTQ CX, CX
	JZ q8kdone

q8kblock:
	// am = max over the block of the sign-cleared bits.
	VPANDD (SI), Z16, Z0
	VPANDD 64(SI), Z16, Z1
	VPANDD 128(SI), Z16, Z2
	VPANDD 192(SI), Z16, Z3
	MOVQ $64, DX
q8kmax:
	VPANDD (SI)(DX*4), Z16, Z4
	VPANDD 64(SI)(DX*4), Z16, Z5
	VPANDD 128(SI)(DX*4), Z16, Z6
	VPANDD 192(SI)(DX*4), Z16, Z7
	VPMAXUD Z4, Z0, Z0
	VPMAXUD Z5, Z1, Z1
	VPMAXUD Z6, Z2, Z2
	VPMAXUD Z7, Z3, Z3
	ADDQ $64, DX
	CMPQ DX, $256
	JL q8kmax
	VPMAXUD Z1, Z0, Z0
	VPMAXUD Z3, Z2, Z2
	VPMAXUD Z2, Z0, Z0
	VEXTRACTI64X4 $1, Z0, Y1
	VPMAXUD Y1, Y0, Y0
	VEXTRACTI128 $1, Y0, X1
	VPMAXUD X1, X0, X0
	VPSHUFD $0x4e, X0, X1
	VPMAXUD X1, X0, X0
	VPSHUFD $0xb1, X0, X1
	VPMAXUD X1, X0, X0 // X0 = am
	VMOVD X0, AX
	CMPL AX, $0x7f800000
	JAE q8kdone // infinity or NaN: the caller's
	TESTL AX, AX
	JNZ q8kscale
	// am = 0: zero codes, sums and scale.
	MOVQ $0, DX
q8kzero:
	VMOVDQU64 Z23, (DI)(DX*1)
	ADDQ $64, DX
	CMPQ DX, $256
	JL q8kzero
	VMOVDQU64 Y23, (R9)
	MOVL $0, (R8)
	JMP q8knext

q8kscale:
	// vmax: the first value whose sign-cleared bits are am.
	VPBROADCASTD X0, Z5
	MOVQ SI, R10
q8kfind:
	VPANDD (R10), Z16, Z6
	VPCMPEQD Z5, Z6, K1
	KMOVW K1, AX
	ADDQ $64, R10
	TESTL AX, AX
	JZ q8kfind
	TZCNTL AX, AX
	VMOVSS -64(R10)(AX*4), X7
	VDIVSS X7, X21, X8 // iscale = −127/vmax
	VDIVSS X8, X22, X9 // d = 1/iscale
	VMOVSS X9, (R8)
	VBROADCASTSS X8, Z8

	// Four chunks of 64 codes: each 64-byte chunk, then its four 16-code
	// sums as words of unsigned bytes (code + 128) summed by VPSADBW in
	// halves of 8.
	Q8K_CHUNK(0, 64, 128, 192, 0, X12)
	Q8K_CHUNK(256, 320, 384, 448, 64, X13)
	Q8K_CHUNK(512, 576, 640, 704, 128, X14)
	Q8K_CHUNK(768, 832, 896, 960, 192, X15)
	// Words [a0 b0 a1 b1 …] of the 16 groups' halves: pairwise sums, less
	// the bias, narrowed to int16.
	VINSERTI32X4 $1, X13, Z12, Z12
	VINSERTI32X4 $2, X14, Z12, Z12
	VINSERTI32X4 $3, X15, Z12, Z12
	VPMADDWD Z19, Z12, Z12
	VPSUBD Z20, Z12, Z12
	VPMOVDW Z12, Y12
	VMOVDQU Y12, (R9)

q8knext:
	ADDQ $1024, SI
	ADDQ $256, DI
	ADDQ $4, R8
	ADDQ $32, R9
	INCQ R11
	DECQ CX
	JNZ q8kblock
q8kdone:
	MOVQ R11, ret+40(FP)
	VZEROUPPER
	RET
