//go:build !purego

#include "textflag.h"

// func maxOrNaNAVX512(x *float32, blocks int) (m float32, ok bool)
//
// Four running maxima (VMAXPS) and the OR of every vector's unordered
// self-compare; blocks ≥ 1.
TEXT ·maxOrNaNAVX512(SB), NOSPLIT, $0-21
	MOVQ x+0(FP), SI
	MOVQ blocks+8(FP), CX
	VMOVUPS (SI), Z0
	VMOVAPS Z0, Z1
	VMOVAPS Z0, Z2
	VMOVAPS Z0, Z3
	KXORW K1, K1, K1
max4:
	CMPQ CX, $4
	JL max1
	VMOVUPS (SI), Z4
	VMOVUPS 64(SI), Z5
	VMOVUPS 128(SI), Z6
	VMOVUPS 192(SI), Z7
	VCMPPS $3, Z4, Z4, K2
	VCMPPS $3, Z5, Z5, K3
	VCMPPS $3, Z6, Z6, K4
	VCMPPS $3, Z7, Z7, K5
	KORW K2, K1, K1
	KORW K3, K1, K1
	KORW K4, K1, K1
	KORW K5, K1, K1
	VMAXPS Z4, Z0, Z0
	VMAXPS Z5, Z1, Z1
	VMAXPS Z6, Z2, Z2
	VMAXPS Z7, Z3, Z3
	ADDQ $256, SI
	SUBQ $4, CX
	JMP max4
max1:
	TESTQ CX, CX
	JZ reduce
	VMOVUPS (SI), Z4
	VCMPPS $3, Z4, Z4, K2
	KORW K2, K1, K1
	VMAXPS Z4, Z0, Z0
	ADDQ $64, SI
	DECQ CX
	JMP max1
reduce:
	VMAXPS Z1, Z0, Z0
	VMAXPS Z3, Z2, Z2
	VMAXPS Z2, Z0, Z0
	VEXTRACTF64X4 $1, Z0, Y1
	VMAXPS Y1, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VMAXPS X1, X0, X0
	VPERMILPS $0x4e, X0, X1
	VMAXPS X1, X0, X0
	VPERMILPS $0xb1, X0, X1
	VMAXPS X1, X0, X0
	VMOVSS X0, m+16(FP)
	KMOVW K1, AX
	TESTL AX, AX
	SETEQ ok+20(FP)
	VZEROUPPER
	RET

// func firstEqAVX512(x *float32, blocks int, m float32) int
TEXT ·firstEqAVX512(SB), NOSPLIT, $0-32
	MOVQ x+0(FP), SI
	MOVQ blocks+8(FP), CX
	VBROADCASTSS m+16(FP), Z0
	XORQ DX, DX
find:
	VCMPPS $0, (SI)(DX*4), Z0, K1
	KMOVW K1, AX
	TESTL AX, AX
	JNZ found
	ADDQ $16, DX
	DECQ CX
	JNZ find
	MOVQ $-1, ret+24(FP)
	VZEROUPPER
	RET
found:
	TZCNTL AX, AX
	ADDQ AX, DX
	MOVQ DX, ret+24(FP)
	VZEROUPPER
	RET
