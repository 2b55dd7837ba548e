//go:build ignore

// gen_i8_common holds what gen_i8_asm.go and gen_i8win_asm.go share: the
// output buffer and the kernels' register addressing of A's rows, B's
// panels and C's outputs (go run each with this file).
package main

import (
	"bytes"
	"fmt"
)

const maxMR, maxNP = 6, 4

var out bytes.Buffer

func p(format string, args ...any) { fmt.Fprintf(&out, "\t"+format+"\n", args...) }

// rowAddr is the address of row r of A: rows 0–2 from SI, rows 3–5 from
// R13 = SI + 3·lda.
func rowAddr(r int) string {
	base := "SI"
	if r >= 3 {
		base, r = "R13", r-3
	}
	switch r {
	case 0:
		return fmt.Sprintf("(%s)", base)
	case 1:
		return fmt.Sprintf("(%s)(BX*1)", base)
	}
	return fmt.Sprintf("(%s)(BX*2)", base)
}

// panelAddr is the address of panel j of B: panels 0–2 from R8, panel 3
// from R10 = R8 + 3·ps.
func panelAddr(j int) string {
	switch j {
	case 0:
		return "(R8)"
	case 1:
		return "(R8)(R9*1)"
	case 2:
		return "(R8)(R9*2)"
	}
	return "(R10)"
}

// outAddr is the address of row r, panel j of C: rows 0–2 from R11, 3–5
// from R14 = R11 + 3·ldc.
func outAddr(r, j int) string {
	base := "R11"
	if r >= 3 {
		base, r = "R14", r-3
	}
	idx := ""
	switch r {
	case 1:
		idx = "(R12*1)"
	case 2:
		idx = "(R12*2)"
	}
	return fmt.Sprintf("%d(%s)%s", 64*j, base, idx)
}
