//go:build !purego

#include "textflag.h"

// func PrefetchRows(p unsafe.Pointer, stride, rows, lines int)
TEXT ·PrefetchRows(SB), NOSPLIT, $0-32
	MOVQ p+0(FP), AX
	MOVQ stride+8(FP), BX
	MOVQ rows+16(FP), CX
	MOVQ lines+24(FP), DX
	TESTQ CX, CX
	JLE done
	TESTQ DX, DX
	JLE done
row:
	MOVQ AX, SI
	MOVQ DX, DI
line:
	// PREFETCHW (SI), encoded by hand (0F 0D /1): the assembler lacks
	// the mnemonic.
	BYTE $0x0F; BYTE $0x0D; BYTE $0x0E
	ADDQ $64, SI
	DECQ DI
	JNZ line
	ADDQ BX, AX
	DECQ CX
	JNZ row
done:
	RET
