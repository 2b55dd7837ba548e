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
