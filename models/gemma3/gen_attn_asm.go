//go:build ignore

// gen_attn_asm writes attnblock_amd64.s, the AVX-512 kernels of block
// attention (attnblock.go): go generate (or go run gen_attn_asm.go) in
// models/gemma3. The kernels are unrolled over registers, which is what
// the generator spells out; the fixed parts are literal text.
package main

import (
	"bytes"
	"fmt"
	"log"
	"os"
)

var b bytes.Buffer

func w(format string, a ...any) { fmt.Fprintf(&b, format, a...) }

func main() {
	b.WriteString(head)
	gather()
	scores("scoresT16AVX512", false, 1)
	scores("scoresT16F16AVX512", true, 1)
	scores("scoresT32AVX512", false, 2)
	scores("scoresT32F16AVX512", true, 2)
	scoresPipe("scoresT16F16PipeAVX512", 1)
	scoresPipe("scoresT32F16PipeAVX512", 2)
	values("values16F32AVX512", false, 16)
	values("values16F16AVX512", true, 16)
	values("values32F32AVX512", false, 32)
	values("values32F16AVX512", true, 32)
	scoresNarrowF16()
	valuesNarrow("valuesNarrowF16AVX512", true)
	valuesNarrow("valuesNarrowF32AVX512", false)
	quantQT()
	scoresQ8("scoresT16Q8VNNI", 1, 8)
	scoresQ8("scoresT32Q8VNNI", 2, 5)
	scoresNarrowQ8()
	b.WriteString(tail)
	if err := os.WriteFile("attnblock_amd64.s", b.Bytes(), 0o644); err != nil {
		log.Fatal(err)
	}
}

// gather: sixteen rows of 16 values, transposed in registers.
func gather() {
	w("gqchunk:\n")
	for i := 0; i < 16; i++ {
		w("\tMOVLQSX %d(AX), R8\n\tVMOVUPS (SI)(R8*4), Z%d\n", 4*i, i)
	}
	w("\tTESTQ DX, DX\n\tJZ    gqtr\n")
	for i := 0; i < 16; i++ {
		w("\tVCVTPS2PH $0, Z%d, Y16\n\tVCVTPH2PS Y16, Z%d\n", i, i)
	}
	w("\ngqtr:\n")
	// Rows 2k, 2k+1 interleaved by 32 bits, then rows 4m…4m+3 by 64 bits:
	// Z(4m+c) lane L holds column 4L+c of rows 4m…4m+3.
	for k := 0; k < 8; k++ {
		w("\tVUNPCKLPS Z%d, Z%d, Z%d\n\tVUNPCKHPS Z%d, Z%d, Z%d\n", 2*k+1, 2*k, 16+2*k, 2*k+1, 2*k, 16+2*k+1)
	}
	for m := 0; m < 4; m++ {
		a, bb, c, d := 16+4*m, 16+4*m+1, 16+4*m+2, 16+4*m+3
		w("\tVUNPCKLPD Z%d, Z%d, Z%d\n\tVUNPCKHPD Z%d, Z%d, Z%d\n", c, a, 4*m, c, a, 4*m+1)
		w("\tVUNPCKLPD Z%d, Z%d, Z%d\n\tVUNPCKHPD Z%d, Z%d, Z%d\n", d, bb, 4*m+2, d, bb, 4*m+3)
	}
	// Two rounds of 128-bit lane shuffles gather each column's four lanes.
	for c := 0; c < 4; c++ {
		w("\tVSHUFF32X4 $0x88, Z%d, Z%d, Z%d\n", 4+c, c, 16+c)
		w("\tVSHUFF32X4 $0xDD, Z%d, Z%d, Z%d\n", 4+c, c, 20+c)
		w("\tVSHUFF32X4 $0x88, Z%d, Z%d, Z%d\n", 12+c, 8+c, 24+c)
		w("\tVSHUFF32X4 $0xDD, Z%d, Z%d, Z%d\n", 12+c, 8+c, 28+c)
	}
	for c := 0; c < 4; c++ {
		w("\tVSHUFF32X4 $0x88, Z%d, Z%d, Z%d\n", 24+c, 16+c, c)
		w("\tVSHUFF32X4 $0xDD, Z%d, Z%d, Z%d\n", 24+c, 16+c, 8+c)
		w("\tVSHUFF32X4 $0x88, Z%d, Z%d, Z%d\n", 28+c, 20+c, 4+c)
		w("\tVSHUFF32X4 $0xDD, Z%d, Z%d, Z%d\n", 28+c, 20+c, 12+c)
	}
	w("\tLEAQ (DI)(BX*4), R10\n\tLEAQ (R10)(BX*4), R11\n\tLEAQ (R11)(BX*4), R12\n")
	for col := 0; col < 16; col++ {
		w("\tVMOVUPS Z%d, %s\n", col, row4([]string{"DI", "R10", "R11", "R12"}[col/4], "BX", "R9", col%4))
	}
	w("\tLEAQ (R12)(BX*4), DI\n\tADDQ $64, SI\n\tDECQ CX\n\tJNZ  gqchunk\n\tVZEROUPPER\n\tRET\n")
}

// row4 returns the address of row r < 4 from base, rows stride bytes
// apart (stride3 holds 3·stride).
func row4(base, stride, stride3 string, r int) string {
	switch r {
	case 0:
		return "(" + base + ")"
	case 1:
		return "(" + base + ")(" + stride + "*1)"
	case 2:
		return "(" + base + ")(" + stride + "*2)"
	}
	return "(" + base + ")(" + stride3 + "*1)"
}

// scores writes a score kernel of 16·L lanes over float32 (or, if f16,
// binary16) keys: passes of 12, 4, then 1 key, each key's value d
// broadcast against the L query registers of d.
func scores(name string, f16 bool, L int) {
	W := 16 * L
	if f16 {
		w("\n// func %s(qt *float32, k *uint16, ldk, hd, n int, out, buf *float32)\n", name)
		w("// scoresT%dAVX512 over binary16 keys: each pass widens its keys into buf\n", W)
		w("// (12 rows of hd values), then multiplies them from there.\n")
		w("TEXT ·%s(SB), NOSPLIT, $0-56\n", name)
	} else {
		w("\n// func %s(qt, k *float32, ldk, hd, n int, out *float32)\n", name)
		w("// out[%dj+i] = Σ_{d<hd} qt[%dd+i]·k[j·ldk+d]: twelve keys per pass (%d Z\n", W, W, L)
		w("// accumulator(s) each, the key's value d broadcast from memory), then\n")
		w("// four, then one.\n")
		w("TEXT ·%s(SB), NOSPLIT, $0-48\n", name)
	}
	shift := 2
	if f16 {
		shift = 1
	}
	w("\tMOVQ qt+0(FP), DI\n\tMOVQ k+8(FP), SI\n\tMOVQ ldk+16(FP), BX\n\tSHLQ $%d, BX\n", shift)
	w("\tMOVQ hd+24(FP), DX\n\tMOVQ n+32(FP), CX\n\tMOVQ out+40(FP), R15\n")
	if f16 {
		w("\tMOVQ DX, R10\n\tSHLQ $2, R10\n")
	} else {
		w("\tMOVQ BX, R10\n")
	}
	w("\tLEAQ (R10)(R10*2), AX\n")
	for _, p := range []struct {
		R    int
		next string
	}{{12, "t4"}, {4, "t1"}, {1, "done"}} {
		R := p.R
		lab := fmt.Sprintf("%st%d", name, R)
		w("\n%s:\n", lab)
		if R == 1 {
			w("\tTESTQ CX, CX\n\tJZ    %sdone\n", name)
		} else {
			w("\tCMPQ CX, $%d\n\tJLT  %s%s\n", R, name, p.next)
		}
		if f16 {
			w("\tMOVQ SI, R8\n\tMOVQ buf+48(FP), R9\n\tMOVQ $%d, R11\n\n", R)
			w("%swr:\n\tMOVQ R8, R13\n\tMOVQ DX, R12\n\tSHRQ $4, R12\n\n", lab)
			w("%swc:\n", lab)
			w("\tVCVTPH2PS (R13), Z31\n\tVMOVUPS   Z31, (R9)\n\tADDQ      $32, R13\n\tADDQ      $64, R9\n")
			w("\tDECQ      R12\n\tJNZ       %swc\n\tADDQ      BX, R8\n\tDECQ      R11\n\tJNZ       %swr\n", lab, lab)
			w("\tMOVQ      buf+48(FP), R8\n")
		} else {
			w("\tMOVQ SI, R8\n")
		}
		for r := 0; r < R*L; r++ {
			w("\tVPXORD Z%d, Z%d, Z%d\n", r, r, r)
		}
		if R == 12 {
			w("\tLEAQ (R8)(R10*4), R11\n\tLEAQ (R11)(R10*4), R12\n")
		}
		w("\tMOVQ DI, R13\n\tMOVQ DX, R14\n\n%sd:\n", lab)
		scoreFMAs(R, L)
		w("\tDECQ R14\n\tJNZ  %sd\n", lab)
		for r := 0; r < R*L; r++ {
			w("\tVMOVUPS Z%d, %d(R15)\n", r, 64*r)
		}
		w("\tADDQ $%d, R15\n", 64*R*L)
		switch R {
		case 12:
			w("\tLEAQ (SI)(BX*8), SI\n\tLEAQ (SI)(BX*4), SI\n")
		case 4:
			w("\tLEAQ (SI)(BX*4), SI\n")
		default:
			w("\tADDQ BX, SI\n")
		}
		w("\tSUBQ $%d, CX\n\tJMP  %s\n", R, lab)
	}
	w("\n%sdone:\n\tVZEROUPPER\n\tRET\n", name)
}

// scoreFMAs writes one value d of a score pass over R keys (rows of the
// float32 key buffer at R8, R11, R12, R10 bytes apart) for 16·L lanes:
// the L query registers of d, then each key's value broadcast against
// them into the R·L accumulators, and the pointers advanced to d+1.
func scoreFMAs(R, L int) {
	for l := 0; l < L; l++ {
		w("\tVMOVUPS %d(R13), Z%d\n", 64*l, 30-l)
	}
	for r := 0; r < R; r++ {
		a := row4([]string{"R8", "R11", "R12"}[r/4], "R10", "AX", r%4)
		if L == 1 {
			w("\tVFMADD231PS.BCST %s, Z30, Z%d\n", a, r)
			continue
		}
		w("\tVBROADCASTSS %s, Z28\n", a)
		for l := 0; l < L; l++ {
			w("\tVFMADD231PS Z28, Z%d, Z%d\n", 30-l, r*L+l)
		}
	}
	w("\tADDQ $%d, R13\n\tADDQ $4, R8\n", 64*L)
	if R == 12 {
		w("\tADDQ $4, R11\n\tADDQ $4, R12\n")
	}
}

// pipeOff is the distance in bytes between the two halves of the
// pipelined F16 score kernels' buffer: 12 rows of at most 256 float32
// values, plus 256 bytes so that a store to one half does not alias a
// load from the other modulo 4 KiB.
const pipeOff = 12*256*4 + 256

// scoresPipe writes a score kernel of 16·L lanes over binary16 keys whose
// twelve-key passes widen the next pass's keys while they multiply: the
// buffer has two halves pipeOff bytes apart, and each sixteen values of
// d of a pass, sixteen of each of the next twelve keys are widened into
// the other half. Four-key and one-key tails widen first, as scores
// does.
func scoresPipe(name string, L int) {
	W := 16 * L
	w("\n// func %s(qt *float32, k *uint16, ldk, hd, n int, out, buf *float32)\n", name)
	w("// scoresT%dF16AVX512 with the widening of each twelve-key pass's keys done\n", W)
	w("// during the previous pass (hd ≤ 256; buf holds %d + 12·hd floats).\n", pipeOff/4)
	w("TEXT ·%s(SB), NOSPLIT, $0-56\n", name)
	w("\tMOVQ qt+0(FP), DI\n\tMOVQ k+8(FP), SI\n\tMOVQ ldk+16(FP), BX\n\tSHLQ $1, BX\n")
	w("\tMOVQ hd+24(FP), DX\n\tMOVQ n+32(FP), CX\n\tMOVQ out+40(FP), R15\n")
	w("\tMOVQ DX, R10\n\tSHLQ $2, R10\n\tLEAQ (R10)(R10*2), AX\n")
	zero := func(R int) {
		for r := 0; r < R*L; r++ {
			w("\tVPXORD Z%d, Z%d, Z%d\n", r, r, r)
		}
	}
	fmaBody := func(R int) { scoreFMAs(R, L) }
	store := func(R int) {
		for r := 0; r < R*L; r++ {
			w("\tVMOVUPS Z%d, %d(R15)\n", r, 64*r)
		}
		w("\tADDQ $%d, R15\n", 64*R*L)
	}
	// widen R keys from SI into buf (R9), as scores does.
	widen := func(lab string, R int) {
		w("\tMOVQ SI, R8\n\tMOVQ buf+48(FP), R9\n\tMOVQ $%d, R11\n\n", R)
		w("%swr:\n\tMOVQ R8, R13\n\tMOVQ DX, R12\n\tSHRQ $4, R12\n\n", lab)
		w("%swc:\n", lab)
		w("\tVCVTPH2PS (R13), Z31\n\tVMOVUPS   Z31, (R9)\n\tADDQ      $32, R13\n\tADDQ      $64, R9\n")
		w("\tDECQ      R12\n\tJNZ       %swc\n\tADDQ      BX, R8\n\tDECQ      R11\n\tJNZ       %swr\n", lab, lab)
	}

	// The first twelve-key pass widens its keys into half 0.
	w("\n%st12:\n\tCMPQ CX, $12\n\tJLT  %st4\n", name, name)
	widen(name+"t12", 12)
	w("\tJMP  %sh0\n", name)
	for h := 0; h < 2; h++ {
		lab := fmt.Sprintf("%sh%d", name, h)
		half := func() {
			w("\tMOVQ buf+48(FP), R8\n")
			if h == 1 {
				w("\tADDQ $%d, R8\n", pipeOff)
			}
			w("\tLEAQ (R8)(R10*4), R11\n\tLEAQ (R11)(R10*4), R12\n\tMOVQ DI, R13\n")
		}
		disp := pipeOff
		if h == 1 {
			disp = -pipeOff
		}
		// Keys of this pass in half h; with a next full pass, widen it
		// into the other half while multiplying.
		w("\n%s:\n\tCMPQ CX, $24\n\tJLT  %sp\n", lab, lab)
		zero(12)
		half()
		w("\tMOVQ CX, n+32(FP)\n\tLEAQ (BX)(BX*2), CX\n")
		w("\tLEAQ (SI)(BX*4), SI\n\tLEAQ (SI)(BX*8), SI\n\tLEAQ (SI)(BX*4), DI\n\tLEAQ (DI)(BX*4), DX\n")
		w("\tMOVQ hd+24(FP), R9\n\tSHRQ $4, R9\n\n%ss:\n", lab)
		for r := 0; r < 12; r++ {
			src := row4([]string{"SI", "DI", "DX"}[r/4], "BX", "CX", r%4)
			dst := row4([]string{"R8", "R11", "R12"}[r/4], "R10", "AX", r%4)
			w("\tVCVTPH2PS %s, Z31\n\tVMOVUPS   Z31, %d%s\n", src, disp, dst)
		}
		w("\tADDQ $32, SI\n\tADDQ $32, DI\n\tADDQ $32, DX\n\tMOVQ $16, R14\n\n%sd:\n", lab)
		fmaBody(12)
		w("\tDECQ R14\n\tJNZ  %sd\n\tDECQ R9\n\tJNZ  %ss\n", lab, lab)
		store(12)
		w("\tMOVQ hd+24(FP), DX\n\tMOVQ DX, R9\n\tSHLQ $1, R9\n\tSUBQ R9, SI\n")
		w("\tMOVQ qt+0(FP), DI\n\tMOVQ n+32(FP), CX\n\tSUBQ $12, CX\n\tJMP  %sh%d\n", name, 1-h)
		// The last twelve-key pass: its keys are in half h already.
		w("\n%sp:\n\tCMPQ CX, $12\n\tJLT  %st4\n", lab, name)
		zero(12)
		half()
		w("\tMOVQ DX, R14\n\n%spd:\n", lab)
		fmaBody(12)
		w("\tDECQ R14\n\tJNZ  %spd\n", lab)
		store(12)
		w("\tLEAQ (SI)(BX*8), SI\n\tLEAQ (SI)(BX*4), SI\n\tSUBQ $12, CX\n")
	}
	for _, p := range []struct {
		R    int
		next string
	}{{4, "t1"}, {1, "done"}} {
		R := p.R
		lab := fmt.Sprintf("%st%d", name, R)
		w("\n%s:\n", lab)
		if R == 1 {
			w("\tTESTQ CX, CX\n\tJZ    %sdone\n", name)
		} else {
			w("\tCMPQ CX, $%d\n\tJLT  %s%s\n", R, name, p.next)
		}
		widen(lab, R)
		w("\tMOVQ buf+48(FP), R8\n")
		zero(R)
		w("\tMOVQ DI, R13\n\tMOVQ DX, R14\n\n%sd:\n", lab)
		fmaBody(R)
		w("\tDECQ R14\n\tJNZ  %sd\n", lab)
		store(R)
		if R == 4 {
			w("\tLEAQ (SI)(BX*4), SI\n")
		} else {
			w("\tADDQ BX, SI\n")
		}
		w("\tSUBQ $%d, CX\n\tJMP  %s\n", R, lab)
	}
	w("\n%sdone:\n\tVZEROUPPER\n\tRET\n", name)
}

// valPrefetch is how many value rows ahead of the one it multiplies a
// value kernel prefetches: the first tiles of a block read the rows from
// beyond L2.
const valPrefetch = 32

// values writes a value kernel of W lanes over float32 (or, if f16,
// binary16) values: tiles of 8 lanes × 32 values, each over all keys.
func values(name string, f16 bool, W int) {
	typ, shift := "float32", 2
	if f16 {
		typ, shift = "uint16", 1
	}
	w("\n// func %s(p *float32, v *%s, ldv, hd, n, nq int, out *float32)\n", name, typ)
	w("// out[i·hd+d] += Σ_{j<n} p[%dj+i]·v[j·ldv+d] for i < nq rounded up to 8:\n", W)
	w("// tiles of 8 lanes × 32 values (16 accumulators), each over all n keys.\n")
	w("TEXT ·%s(SB), NOSPLIT, $0-56\n", name)
	w("\tMOVQ p+0(FP), R8\n\tMOVQ v+8(FP), SI\n\tMOVQ ldv+16(FP), BX\n\tSHLQ $%d, BX\n", shift)
	w("\tMOVQ hd+24(FP), DX\n\tSHLQ $2, DX          // out row bytes\n\tMOVQ n+32(FP), CX\n\tMOVQ out+48(FP), DI\n")
	w("\tLEAQ (DX)(DX*2), R13 // 3 out rows\n\tXORQ R14, R14        // first lane of the tile\n\n")
	w("%sq:\n\tCMPQ R14, nq+40(FP)\n\tJGE  %sdone\n\tXORQ AX, AX // out byte offset of the value tile\n\n", name, name)
	w("%sd:\n\tCMPQ AX, DX\n\tJGE  %snext\n\tMOVQ R14, R9\n\tIMULQ DX, R9\n\tADDQ DI, R9\n", name, name)
	w("\tADDQ AX, R9          // out row of lane R14, value AX/4\n\tLEAQ (R9)(DX*4), R12 // lane R14+4\n")
	rows := make([]string, 8)
	for r := range rows {
		rows[r] = row4([]string{"R9", "R12"}[r/4], "DX", "R13", r%4)
	}
	for r := 0; r < 8; r++ {
		w("\tVMOVUPS %s, Z%d\n\tVMOVUPS 64%s, Z%d\n", rows[r], 2*r, rows[r], 2*r+1)
	}
	if f16 {
		w("\tMOVQ AX, R10\n\tSHRQ $1, R10\n\tADDQ SI, R10\n")
	} else {
		w("\tLEAQ (SI)(AX*1), R10\n")
	}
	// R12 (free until the stores) runs valPrefetch rows ahead of R10.
	w("\tLEAQ (R8)(R14*4), R11\n\tMOVQ CX, R15\n\tMOVQ BX, R12\n\tIMULQ $%d, R12\n\tADDQ R10, R12\n\n%sj:\n", valPrefetch, name)
	if f16 {
		w("\tVCVTPH2PS (R10), Z16\n\tVCVTPH2PS 32(R10), Z17\n")
	} else {
		w("\tVMOVUPS (R10), Z16\n\tVMOVUPS 64(R10), Z17\n")
	}
	// The first tile of each value range reads the rows from beyond L2.
	w("\tPREFETCHT0 (R12)\n\tADDQ BX, R12\n")
	for r := 0; r < 8; r++ {
		w("\tVBROADCASTSS %d(R11), Z%d\n", 4*r, 18+r)
		w("\tVFMADD231PS Z16, Z%d, Z%d\n", 18+r, 2*r)
		w("\tVFMADD231PS Z17, Z%d, Z%d\n", 18+r, 2*r+1)
	}
	w("\tADDQ BX, R10\n\tADDQ $%d, R11\n\tDECQ R15\n\tJNZ  %sj\n", 4*W, name)
	w("\tLEAQ (R9)(DX*4), R12\n")
	for r := 0; r < 8; r++ {
		w("\tVMOVUPS Z%d, %s\n\tVMOVUPS Z%d, 64%s\n", 2*r, rows[r], 2*r+1, rows[r])
	}
	w("\tADDQ $128, AX\n\tJMP  %sd\n\n%snext:\n\tADDQ $8, R14\n\tJMP  %sq\n\n%sdone:\n\tVZEROUPPER\n\tRET\n", name, name, name, name)
}

// scoresNarrowF16 writes scoresNarrowF16AVX512, the score kernel of a block with
// at most four live lanes (a decode row of a model with four query heads
// per KV head): sixteen keys per pass, one per lane, so that no lane
// multiplies a padding query. Each chunk of 16 values of the 16 keys is
// widened and transposed in registers; value d of the keys is then
// multiplied by each query's value d, broadcast from qt. Every score is
// the same chain of FMAs over d as in the 16-lane kernels, so the scores
// are the same to the bit.
func scoresNarrowF16() {
	w(`
// func scoresNarrowF16AVX512(qt *float32, k *uint16, ldk, hd, n int, out *float32)
// out[16j+i] = Σ_{d<hd} qt[16d+i]·k[j·ldk+d] for i < 4, j < n (n a
// multiple of 16, hd of 16), summed in order of d; lanes 4…15 of out are
// not written.
TEXT ·scoresNarrowF16AVX512(SB), NOSPLIT, $0-48
	MOVQ qt+0(FP), DI
	MOVQ k+8(FP), SI
	MOVQ ldk+16(FP), BX
	SHLQ $1, BX
	MOVQ hd+24(FP), DX
	SHRQ $4, DX
	MOVQ n+32(FP), CX
	SHRQ $4, CX
	MOVQ out+40(FP), R15

s4pass:
	VPXORD Z28, Z28, Z28
	VPXORD Z29, Z29, Z29
	VPXORD Z30, Z30, Z30
	VPXORD Z31, Z31, Z31
	MOVQ   DI, R13
	XORQ   AX, AX
	MOVQ   DX, R14

s4chunk:
	LEAQ (SI)(AX*1), R8
`)
	// The 16 rows' chunks in Z0–Z15, transposed with Z16–Z27 free.
	t := regs{at: map[string]int{}}
	for r := 0; r < 16; r++ {
		t.at[fmt.Sprintf("r%d", r)] = r
		w("\tVCVTPH2PS (R8), Z%d\n", r)
		if r < 15 {
			w("\tADDQ      BX, R8\n")
		}
	}
	// R8 is at the pass's last row: the next pass starts one row on.
	prefetchNextPass("s4nopf", "(R8)(BX*1)")
	for z := 16; z < 28; z++ {
		t.free = append(t.free, z)
	}
	n := func(p string, i int) string { return fmt.Sprintf("%s%d", p, i) }
	for k := 0; k < 8; k++ {
		t.pair("VUNPCKLPS", "VUNPCKHPS", n("r", 2*k), n("r", 2*k+1), n("t", 2*k), n("t", 2*k+1))
	}
	for m := 0; m < 4; m++ {
		t.pair("VUNPCKLPD", "VUNPCKHPD", n("t", 4*m), n("t", 4*m+2), n("u", 4*m), n("u", 4*m+1))
		t.pair("VUNPCKLPD", "VUNPCKHPD", n("t", 4*m+1), n("t", 4*m+3), n("u", 4*m+2), n("u", 4*m+3))
	}
	const lo, hi = "VSHUFF32X4 $0x88,", "VSHUFF32X4 $0xDD,"
	for c := 0; c < 4; c++ {
		t.pair(lo, hi, n("u", c), n("u", 4+c), n("v", c), n("v", 4+c))
		t.pair(lo, hi, n("u", 8+c), n("u", 12+c), n("v", 8+c), n("v", 12+c))
	}
	for c := 0; c < 4; c++ {
		t.pair(lo, hi, n("v", c), n("v", 8+c), n("c", c), n("c", 8+c))
		t.pair(lo, hi, n("v", 4+c), n("v", 12+c), n("c", 4+c), n("c", 12+c))
	}
	// Column d of the chunk holds value d of the 16 keys.
	for d := 0; d < 16; d++ {
		for i := 0; i < 4; i++ {
			w("\tVFMADD231PS.BCST %d(R13), Z%d, Z%d\n", 64*d+4*i, t.at[n("c", d)], 28+i)
		}
	}
	w(`	ADDQ $1024, R13
	ADDQ $32, AX
	DECQ R14
	JNZ  s4chunk
`)
	storeNarrow()
	w(`	LEAQ (SI)(BX*8), SI
	LEAQ (SI)(BX*8), SI
	DECQ CX
	JNZ  s4pass
	VZEROUPPER
	RET
`)
}

// prefetchNextPass emits, for a narrow score kernel's inner loop (R14 its
// count down, BX the bytes between key rows), a prefetch of the 16 rows of
// the next pass at next (an address operand: the current offset in the
// next pass's first row), every other iteration (a cache line of each
// row): the keys of a pass are 16 short rows read across, which the
// hardware prefetcher does not follow. R11 is its scratch; skip labels
// the end.
func prefetchNextPass(skip, next string) {
	w("\tTESTQ $1, R14\n\tJNZ   %s\n\tLEAQ %s, R11\n", skip, next)
	for r := 0; r < 16; r++ {
		w("\tPREFETCHT0 (R11)\n")
		if r < 15 {
			w("\tADDQ BX, R11\n")
		}
	}
	w("%s:\n", skip)
}

// storeNarrow writes the end of a narrow score kernel's pass: the
// scores of 16 keys for query i in Z(28+i) (lane = key) go to
// out[16j+i] at R15, which then moves 16 rows on (Z16–Z23 are scratch).
func storeNarrow() {
	w(`	// Lane L of Z(16+m) gets the four scores of key 4L+m.
	VUNPCKLPS Z29, Z28, Z20
	VUNPCKHPS Z29, Z28, Z21
	VUNPCKLPS Z31, Z30, Z22
	VUNPCKHPS Z31, Z30, Z23
	VUNPCKLPD Z22, Z20, Z16
	VUNPCKHPD Z22, Z20, Z17
	VUNPCKLPD Z23, Z21, Z18
	VUNPCKHPD Z23, Z21, Z19
`)
	for L := 0; L < 4; L++ {
		for m := 0; m < 4; m++ {
			w("\tVEXTRACTF32X4 $%d, Z%d, %d(R15)\n", L, 16+m, 64*(4*L+m))
		}
	}
	w("\tADDQ $1024, R15\n")
}

// regs tracks which Z register holds each named value of an in-register
// transpose, reusing the registers of consumed values.
type regs struct {
	at   map[string]int
	free []int
}

// pair writes ops lo and hi (with any immediate, "VSHUFF32X4 $0x88,") of
// the values named a and b into free registers, naming the results outLo
// and outHi and freeing a's and b's registers.
func (r *regs) pair(lo, hi, a, b, outLo, outHi string) {
	za, zb := r.at[a], r.at[b]
	t1, t2 := r.free[0], r.free[1]
	r.free = r.free[2:]
	w("\t%s Z%d, Z%d, Z%d\n", lo, zb, za, t1)
	w("\t%s Z%d, Z%d, Z%d\n", hi, zb, za, t2)
	delete(r.at, a)
	delete(r.at, b)
	r.free = append(r.free, za, zb)
	r.at[outLo], r.at[outHi] = t1, t2
}

// valuesNarrow writes a value kernel (over binary16 values if f16, else
// float32) of a block with at most four live lanes: tiles of 4 lanes × 64
// values (16 accumulators), each over all n keys, each weight broadcast
// from p by its FMA. Every output is the same chain of FMAs over the keys
// as in the 16-lane kernels.
func valuesNarrow(name string, f16 bool) {
	typ, shift := "float32", 2
	if f16 {
		typ, shift = "uint16", 1
	}
	w("\n// func %s(p *float32, v *%s, ldv, hd, n int, out *float32)\n", name, typ)
	w("// out[i·hd+d] += Σ_{j<n} p[16j+i]·v[j·ldv+d] for i < 4, d < hd (a\n// multiple of 64), n ≥ 1.\n")
	w("TEXT ·%s(SB), NOSPLIT, $0-48\n", name)
	w("\tMOVQ p+0(FP), R8\n\tMOVQ v+8(FP), SI\n\tMOVQ ldv+16(FP), BX\n\tSHLQ $%d, BX\n", shift)
	w("\tMOVQ hd+24(FP), DX\n\tSHLQ $2, DX          // out row bytes\n\tMOVQ n+32(FP), CX\n\tMOVQ out+40(FP), DI\n")
	w("\tLEAQ (DX)(DX*2), R13 // 3 out rows\n\tXORQ AX, AX          // out byte offset of the value tile\n\n")
	w("%sd:\n\tCMPQ AX, DX\n\tJGE  %sdone\n\tLEAQ (DI)(AX*1), R9\n", name, name)
	for i := 0; i < 4; i++ {
		for c := 0; c < 4; c++ {
			w("\tVMOVUPS %d%s, Z%d\n", 64*c, row4("R9", "DX", "R13", i), 4*i+c)
		}
	}
	if f16 {
		w("\tMOVQ AX, R10\n\tSHRQ $1, R10\n\tADDQ SI, R10\n")
	} else {
		w("\tLEAQ (SI)(AX*1), R10\n")
	}
	w("\tMOVQ R8, R11\n\tMOVQ CX, R15\n\tMOVQ BX, R12\n\tIMULQ $%d, R12\n\tADDQ R10, R12\n\n%sj:\n", valPrefetch, name)
	if f16 {
		for c := 0; c < 4; c++ {
			w("\tVCVTPH2PS %d(R10), Z%d\n", 32*c, 16+c)
		}
		w("\tPREFETCHT0 (R12)\n\tPREFETCHT0 64(R12)\n")
	} else {
		for c := 0; c < 4; c++ {
			w("\tVMOVUPS %d(R10), Z%d\n", 64*c, 16+c)
		}
		for c := 0; c < 4; c++ {
			w("\tPREFETCHT0 %d(R12)\n", 64*c)
		}
	}
	w("\tADDQ BX, R12\n")
	for i := 0; i < 4; i++ {
		for c := 0; c < 4; c++ {
			w("\tVFMADD231PS.BCST %d(R11), Z%d, Z%d\n", 4*i, 16+c, 4*i+c)
		}
	}
	w("\tADDQ BX, R10\n\tADDQ $64, R11\n\tDECQ R15\n\tJNZ  %sj\n", name)
	for i := 0; i < 4; i++ {
		for c := 0; c < 4; c++ {
			w("\tVMOVUPS Z%d, %d%s\n", 4*i+c, 64*c, row4("R9", "DX", "R13", i))
		}
	}
	w("\tADDQ $256, AX\n\tJMP  %sd\n\n%sdone:\n\tVZEROUPPER\n\tRET\n", name, name)
}

// quantQT writes quantQT16AVX512: 16 lanes of queries to Q8_0 codes.
func quantQT() {
	w(`
// func quantQT16AVX512(qt *float32, ld, hd int, q8 *int32, dq *float32, corr *int32)
// Sixteen lanes of qt (rows ld floats apart, hd a multiple of 32) as Q8_0
// blocks of 32 values, as ggml's quantize_row_q8_0: per lane and block,
// d = amax/127 rounded to binary16 into dq[b·ld+i], codes
// rint(x·127/amax) (0 for an all-zero block) four to an int32 of
// q8[m·ld+i] (values 4m…4m+3, lowest byte first), and 128·Σ codes into
// corr[b·ld+i].
TEXT ·quantQT16AVX512(SB), NOSPLIT, $0-48
	MOVQ         qt+0(FP), SI
	MOVQ         ld+8(FP), BX
	SHLQ         $2, BX
	LEAQ         (BX)(BX*2), R12
	MOVQ         hd+16(FP), CX
	SHRQ         $5, CX
	MOVQ         q8+24(FP), DI
	MOVQ         dq+32(FP), R8
	MOVQ         corr+40(FP), R9
	MOVL         $0x7fffffff, AX
	VPBROADCASTD AX, Z20
	MOVL         $0x42fe0000, AX
	VPBROADCASTD AX, Z21 // 127
	MOVL         $0xff, AX
	VPBROADCASTD AX, Z22
	VPXORD       Z23, Z23, Z23

qqblock:
	VPXORD Z0, Z0, Z0
	MOVQ   SI, R10
	MOVQ   $32, R11

qqmax:
	VANDPS (R10), Z20, Z1
	VMAXPS Z1, Z0, Z0
	ADDQ   BX, R10
	DECQ   R11
	JNZ    qqmax
	VDIVPS    Z21, Z0, Z1 // d = amax/127
	VCVTPS2PH $0, Z1, Y1
	VCVTPH2PS Y1, Z1
	VMOVUPS   Z1, (R8)
	VCMPPS    $4, Z23, Z0, K1 // amax ≠ 0
	VDIVPS    Z0, Z21, Z2     // id = 127/amax
	VBLENDMPS Z2, Z23, K1, Z2
	VPXORD    Z3, Z3, Z3      // Σ codes
	MOVQ      SI, R10
	MOVQ      $8, R11

qqpack:
	VMULPS    (R10), Z2, Z4
	VMULPS    (R10)(BX*1), Z2, Z5
	VMULPS    (R10)(BX*2), Z2, Z6
	VMULPS    (R10)(R12*1), Z2, Z7
	VCVTPS2DQ Z4, Z4
	VCVTPS2DQ Z5, Z5
	VCVTPS2DQ Z6, Z6
	VCVTPS2DQ Z7, Z7
	VPADDD    Z4, Z3, Z3
	VPADDD    Z5, Z3, Z3
	VPADDD    Z6, Z3, Z3
	VPADDD    Z7, Z3, Z3
	VPANDD    Z22, Z4, Z4
	VPANDD    Z22, Z5, Z5
	VPANDD    Z22, Z6, Z6
	VPSLLD    $8, Z5, Z5
	VPSLLD    $16, Z6, Z6
	VPSLLD    $24, Z7, Z7
	VPORD     Z5, Z4, Z4
	VPORD     Z7, Z6, Z6
	VPORD     Z6, Z4, Z4
	VMOVDQU32 Z4, (DI)
	ADDQ      BX, DI
	LEAQ      (R10)(BX*4), R10
	DECQ      R11
	JNZ       qqpack
	VPSLLD    $7, Z3, Z3
	VMOVDQU32 Z3, (R9)
	ADDQ      BX, R8
	ADDQ      BX, R9
	MOVQ      R10, SI
	DECQ      CX
	JNZ       qqblock
	VZEROUPPER
	RET
`)
}

// scoresQ8 writes a VNNI score kernel of 16·L lanes against Q8_0 keys:
// passes of R keys, then one. Each key's codes, offset by 128 to unsigned
// bytes, are broadcast four at a time against the lanes' signed query
// codes (VPDPBUSD); the offset comes back out through corr.
func scoresQ8(name string, L, R int) {
	W := 16 * L
	w("\n// func %s(q8 *int32, dq *float32, corr *int32, k *byte, ldk, hd, n int, out *float32)\n", name)
	w("// out[%dj+i] = Σ_b (dq[b·%d+i]·dk_jb)·float(Σ_{d in b} cq_id·ck_jd − corr…) for Q8_0\n", W, W)
	w("// key rows ldk bytes apart, blocks in order (see scoresTQ8Generic).\n")
	w("TEXT ·%s(SB), NOSPLIT, $0-64\n", name)
	w("\tMOVQ k+24(FP), SI\n\tMOVQ ldk+32(FP), BX\n\tLEAQ (BX)(BX*2), R10\n\tMOVQ n+48(FP), CX\n\tMOVQ out+56(FP), R15\n")
	w("\tMOVL $0x80808080, AX\n\tVPBROADCASTD AX, Z27\n")
	for _, RR := range []int{R, 1} {
		lab := fmt.Sprintf("%st%d", name, RR)
		w("\n%s:\n", lab)
		if RR == 1 {
			w("\tTESTQ CX, CX\n\tJZ    %sdone\n", name)
		} else {
			w("\tCMPQ CX, $%d\n\tJLT  %st1\n", RR, name)
		}
		// facc: Z(RR·L) … ; iacc: Z0 …
		fa := func(r, l int) int { return RR*L + r*L + l }
		for r := 0; r < RR; r++ {
			for l := 0; l < L; l++ {
				w("\tVPXORD Z%d, Z%d, Z%d\n", fa(r, l), fa(r, l), fa(r, l))
			}
		}
		w("\tMOVQ SI, R8\n\tLEAQ (SI)(BX*4), R11\n")
		w("\tMOVQ q8+0(FP), R12\n\tMOVQ dq+8(FP), R13\n\tMOVQ corr+16(FP), DX\n\tMOVQ hd+40(FP), R14\n\tSHRQ $5, R14\n\n%sb:\n", lab)
		for r := 0; r < RR*L; r++ {
			w("\tVPXORD Z%d, Z%d, Z%d\n", r, r, r)
		}
		for m := 0; m < 8; m++ {
			for l := 0; l < L; l++ {
				w("\tVMOVDQU32 %d(R12), Z%d\n", m*W*4+64*l, 30-l)
			}
			for r := 0; r < RR; r++ {
				a := keyRow(r, 2+4*m)
				w("\tVPBROADCASTD %s, Z28\n\tVPXORD Z27, Z28, Z28\n", a)
				for l := 0; l < L; l++ {
					w("\tVPDPBUSD Z%d, Z28, Z%d\n", 30-l, r*L+l)
				}
			}
		}
		for r := 0; r < RR; r++ {
			w("\tVPBROADCASTW %s, Y26\n\tVCVTPH2PS Y26, Z26\n", keyRow(r, 0))
			for l := 0; l < L; l++ {
				i := r*L + l
				w("\tVPSUBD %d(DX), Z%d, Z%d\n\tVCVTDQ2PS Z%d, Z%d\n", 64*l, i, i, i, i)
				w("\tVMULPS %d(R13), Z26, Z25\n\tVFMADD231PS Z25, Z%d, Z%d\n", 64*l, i, fa(r, l))
			}
		}
		w("\tADDQ $34, R8\n\tADDQ $34, R11\n\tADDQ $%d, R12\n\tADDQ $%d, R13\n\tADDQ $%d, DX\n", 8*W*4, W*4, W*4)
		w("\tDECQ R14\n\tJNZ  %sb\n", lab)
		for r := 0; r < RR; r++ {
			for l := 0; l < L; l++ {
				w("\tVMOVUPS Z%d, %d(R15)\n", fa(r, l), 64*(r*L+l))
			}
		}
		w("\tADDQ $%d, R15\n", 64*RR*L)
		for r := 0; r < RR; r++ {
			w("\tADDQ BX, SI\n")
		}
		w("\tSUBQ $%d, CX\n\tJMP  %s\n", RR, lab)
	}
	w("\n%sdone:\n\tVZEROUPPER\n\tRET\n", name)
}

// scoresNarrowQ8 writes scoresNarrowQ8VNNI, the Q8_0 score kernel of a
// block with at most four live lanes: sixteen keys per pass, one per
// lane. Each block's codes of the 16 keys are loaded two keys to a
// register and transposed (dword m of every key in one register); the
// queries' codes are broadcast by VPDPBUSD, the keys' scales gathered.
// The integer sums are exact and each block's scaling is the same
// multiply and FMA as in scoresT16Q8VNNI, so the scores are the same to
// the bit.
func scoresNarrowQ8() {
	const name = "scoresNarrowQ8VNNI"
	w("\n// func %s(q8 *int32, dq *float32, corr *int32, k *byte, ldk, hd, n int, out *float32)\n", name)
	w("// scoresT16Q8VNNI for lanes 0…3 only (n a multiple of 16); lanes 4…15 of\n// out are not written.\n")
	w("TEXT ·%s(SB), NOSPLIT, $0-64\n", name)
	w("\tMOVQ k+24(FP), SI\n\tMOVQ ldk+32(FP), BX\n\tMOVQ n+48(FP), CX\n\tSHRQ $4, CX\n\tMOVQ out+56(FP), R15\n")
	w("\tMOVL $0x80808080, AX\n\tVPBROADCASTD AX, Z27\n")
	// Z24: the byte offsets of the 16 key rows, for the scale gather.
	w("\tVPBROADCASTD BX, Z26\n\tVMOVDQU32 narrowq8lanes<>(SB), Z23\n\tVPMULLD Z26, Z23, Z24\n")
	w("\tMOVQ BX, R10\n\tSHLQ $4, R10\n") // a pass's 16 rows
	w("\n%spass:\n", name)
	for i := 0; i < 4; i++ {
		w("\tVPXORD Z%d, Z%d, Z%d\n", 28+i, 28+i, 28+i)
	}
	w("\tMOVQ SI, R8\n\tMOVQ q8+0(FP), R12\n\tMOVQ dq+8(FP), R13\n\tMOVQ corr+16(FP), DX\n\tMOVQ hd+40(FP), R14\n\tSHRQ $5, R14\n\n%sb:\n", name)
	// Z(r) for r < 4: keys r (low half) and r+4 (high half); Z(4+r):
	// keys 8+r and 12+r. R9 walks the rows.
	keyOf := func(z, half int) int {
		if z < 4 {
			return z + 4*half
		}
		return 8 + (z - 4) + 4*half
	}
	for z := 0; z < 8; z++ {
		w("\tMOVQ BX, R9\n\tIMULQ $%d, R9\n\tVMOVDQU 2(R8)(R9*1), Y%d\n", keyOf(z, 0), z)
		w("\tMOVQ BX, R9\n\tIMULQ $%d, R9\n\tVINSERTI64X4 $1, 2(R8)(R9*1), Z%d, Z%d\n", keyOf(z, 1), z, z)
		w("\tVPXORD Z27, Z%d, Z%d\n", z, z)
	}
	// Transpose: dwords by 32 then 64 bits within 128-bit lanes, then
	// 128-bit lanes, so that Q_m lane L holds dword m of key L.
	t := regs{at: map[string]int{}, free: []int{8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19}}
	for z := 0; z < 8; z++ {
		t.at[fmt.Sprintf("z%d", z)] = z
	}
	for k := 0; k < 4; k++ {
		t.pair("VPUNPCKLDQ", "VPUNPCKHDQ", fmt.Sprintf("z%d", 2*k), fmt.Sprintf("z%d", 2*k+1), fmt.Sprintf("t%d", 2*k), fmt.Sprintf("t%d", 2*k+1))
	}
	// t0: keys 0,1 (and 4,5) dwords 0,1 | 4,5; t1: dwords 2,3 | 6,7.
	for g := 0; g < 2; g++ {
		a, b := fmt.Sprintf("t%d", 4*g), fmt.Sprintf("t%d", 4*g+2)
		t.pair("VPUNPCKLQDQ", "VPUNPCKHQDQ", a, b, fmt.Sprintf("u%d_0", g), fmt.Sprintf("u%d_1", g))
		a, b = fmt.Sprintf("t%d", 4*g+1), fmt.Sprintf("t%d", 4*g+3)
		t.pair("VPUNPCKLQDQ", "VPUNPCKHQDQ", a, b, fmt.Sprintf("u%d_2", g), fmt.Sprintf("u%d_3", g))
	}
	// u0_c lane 0: dword c of keys 0–3, lane 1: dword c+4 of keys 0–3,
	// lanes 2, 3: the same of keys 4–7; u1_c likewise for keys 8–15.
	for c := 0; c < 4; c++ {
		a, b := fmt.Sprintf("u0_%d", c), fmt.Sprintf("u1_%d", c)
		t.pair("VSHUFI32X4 $0x88,", "VSHUFI32X4 $0xDD,", a, b, fmt.Sprintf("q%d", c), fmt.Sprintf("q%d", c+4))
	}
	for i := 0; i < 4; i++ {
		w("\tVPXORD Z%d, Z%d, Z%d\n", 20+i, 20+i, 20+i)
	}
	for m := 0; m < 8; m++ {
		for i := 0; i < 4; i++ {
			w("\tVPDPBUSD.BCST %d(R12), Z%d, Z%d\n", m*64+4*i, t.at[fmt.Sprintf("q%d", m)], 20+i)
		}
	}
	// The keys' scales: the low half of the dword at each row's block.
	w("\tKXNORW K0, K0, K1\n\tVPGATHERDD (R8)(Z24*1), K1, Z25\n\tVPMOVDW Z25, Y25\n\tVCVTPH2PS Y25, Z25\n")
	for i := 0; i < 4; i++ {
		w("\tVPSUBD.BCST %d(DX), Z%d, Z%d\n\tVCVTDQ2PS Z%d, Z%d\n", 4*i, 20+i, 20+i, 20+i, 20+i)
		w("\tVMULPS.BCST %d(R13), Z25, Z26\n\tVFMADD231PS Z26, Z%d, Z%d\n", 4*i, 20+i, 28+i)
	}
	prefetchNextPass(name+"nopf", "(R8)(R10*1)")
	w("\tADDQ $34, R8\n\tADDQ $512, R12\n\tADDQ $64, R13\n\tADDQ $64, DX\n\tDECQ R14\n\tJNZ  %sb\n", name)
	storeNarrow()
	w("\tMOVQ BX, R9\n\tSHLQ $4, R9\n\tADDQ R9, SI\n")
	w("\tDECQ CX\n\tJNZ  %spass\n\tVZEROUPPER\n\tRET\n", name)
	// The lane indices 0…15 (dwords).
	w("\n")
	for k := 0; k < 8; k++ {
		w("DATA narrowq8lanes<>+%d(SB)/8, $0x%08x%08x\n", 8*k, 2*k+1, 2*k)
	}
	w("GLOBL narrowq8lanes<>(SB), RODATA|NOPTR, $64\n")
}

// keyRow returns the address of byte disp of key row r < 8: R8 holds row
// 0's block, R11 row 4's, BX the row stride and R10 three of them.
func keyRow(r, disp int) string {
	base := "R8"
	if r >= 4 {
		base = "R11"
	}
	return fmt.Sprintf("%d%s", disp, row4(base, "BX", "R10", r%4))
}

const head = `// Code generated by gen_attn_asm.go; DO NOT EDIT.

//go:build !purego

#include "textflag.h"

// Kernels of block attention (attnblock.go). Lane i of a Z register is
// query vector i of the block. Need AVX-512F.

// func gatherQTAVX512(qt, q *float32, idx *int32, hd, ld int, round bool)
// qt[ld·d+i] = q[idx[i]+d] for d < hd (a multiple of 16), i < 16,
// rounded to binary16 and back if round: sixteen rows of 16 values
// loaded, transposed in registers (unpack by 32 and 64 bits, then two
// rounds of 128-bit lane shuffles) and stored as 16 columns.
TEXT ·gatherQTAVX512(SB), NOSPLIT, $0-41
	MOVQ    qt+0(FP), DI
	MOVQ    q+8(FP), SI
	MOVQ    idx+16(FP), AX
	MOVQ    hd+24(FP), CX
	SHRQ    $4, CX
	MOVQ    ld+32(FP), BX
	SHLQ    $2, BX
	MOVBLZX round+40(FP), DX
	LEAQ    (BX)(BX*2), R9

`

const tail = `
// func widenF16RowsAVX512(dst *float32, src *uint16, lds, hd, n int)
// n rows of hd binary16 values (hd a multiple of 16), lds apart, widened
// into consecutive rows of dst.
TEXT ·widenF16RowsAVX512(SB), NOSPLIT, $0-40
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ lds+16(FP), BX
	SHLQ $1, BX
	MOVQ hd+24(FP), DX
	SHRQ $4, DX
	MOVQ n+32(FP), CX

wfrow:
	MOVQ SI, R8
	MOVQ DX, R9

wfcol:
	VCVTPH2PS (R8), Z0
	VMOVUPS   Z0, (DI)
	ADDQ      $32, R8
	ADDQ      $64, DI
	DECQ      R9
	JNZ       wfcol
	ADDQ      BX, SI
	DECQ      CX
	JNZ       wfrow
	VZEROUPPER
	RET

// func widenQ8RowsAVX512(dst *float32, src *byte, lds, hd, n int)
// n rows of hd values (hd a multiple of 32) in Q8_0 blocks (an fp16 scale
// d, 32 int8 codes), lds bytes apart, dequantized (code·d) into
// consecutive rows of dst.
TEXT ·widenQ8RowsAVX512(SB), NOSPLIT, $0-40
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ lds+16(FP), BX
	MOVQ hd+24(FP), DX
	SHRQ $5, DX
	MOVQ n+32(FP), CX

wqrow:
	MOVQ SI, R8
	MOVQ DX, R9

wqblk:
	MOVWLZX      (R8), AX
	VMOVD        AX, X2
	VCVTPH2PS    X2, X2
	VBROADCASTSS X2, Z2
	VPMOVSXBD    2(R8), Z0
	VPMOVSXBD    18(R8), Z1
	VCVTDQ2PS    Z0, Z0
	VCVTDQ2PS    Z1, Z1
	VMULPS       Z2, Z0, Z0
	VMULPS       Z2, Z1, Z1
	VMOVUPS      Z0, (DI)
	VMOVUPS      Z1, 64(DI)
	ADDQ         $34, R8
	ADDQ         $128, DI
	DECQ         R9
	JNZ          wqblk
	ADDQ         BX, SI
	DECQ         CX
	JNZ          wqrow
	VZEROUPPER
	RET
`
