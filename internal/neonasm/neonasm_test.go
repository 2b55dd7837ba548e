package neonasm

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// every writes each instruction once, with operands that set distinct
// bits of every register field (V1–V31, X2–X30) and both halves where an
// instruction has them.
func every(a Writer) {
	for _, hi := range []bool{false, true} {
		a.SMULL(1, 18, 31, hi)
		a.SMLAL(30, 3, 12, hi)
		a.SMLALH(5, 22, 9, hi)
		a.SXTL(7, 26, true, hi)
		a.SXTL(8, 27, false, hi)
		a.FCVTL(17, 2, hi)
		a.SHLL(29, 14, hi)
	}
	a.SADALP(11, 20)
	a.SADDLP(19, 6)
	a.SCVTF(23, 24)
	a.FMUL(4, 13, 28)
	a.FADD(25, 10, 15)
	a.FADDP(16, 21, 1)
	a.FMLA(2, 30, 7)
	a.MLA(9, 12, 31)
	a.MLS(14, 3, 20)
	a.MLSB(26, 8, 17)
	for idx := range 4 {
		a.FMLAElem(3, 29, 11+idx, idx)
		a.SDOT(6, 25, 12+idx, idx)
	}
	a.SSHR(18, 5, 1)
	a.SSHR(22, 23, 32)
	a.MOVI0(27)
	a.LD1H(24, 2)
	a.LD1H2(12, 30, 9)
	a.LD1S(0, 17)
	a.LD1S2(20, 5)
	a.LD1S4(28, 11)
	a.ST1S(31, 29)
	a.ST1S4(4, 6)
	a.FSUB(1, 18, 31)
	a.FMAX(30, 3, 12)
	a.FMAXV(5, 22)
	a.FCMEQ(7, 26, 9)
	a.FCMGE(8, 27, 17)
	a.FCVTZS(29, 14)
	a.FCVTL2D(11, 20, false)
	a.FCVTL2D(19, 6, true)
	a.FADD2D(23, 24, 2)
	a.ADD(4, 13, 28)
	a.SUB(25, 10, 15)
	a.SHL(16, 21, 23)
	a.SHL(3, 1, 1)
	a.AND(2, 30, 7)
	a.ORR(9, 12, 31)
	a.BIC(14, 3, 20)
	a.BIT(26, 8, 17)
	a.DUPS(18, 5)
	a.UMOVD(22, 23, 1)
	a.UMOVD(27, 28, 0)
	a.LD1S4P(24, 2)
	a.ST1S4P(12, 30)
	a.ST1D4(0, 17)
	a.LD1D4(20, 11)
	a.ADDV(13, 29)
	a.FCVTN(21, 10)
	a.UMAX(30, 3, 12)
	a.UMAXV(5, 22)
	a.CMEQ(7, 26, 9)
	a.FCVTNS(8, 27)
	for _, b := range []bool{false, true} {
		a.SQXTN(29, 14, b, false)
		a.SQXTN(11, 20, b, true)
	}
	a.SADDLPB(19, 6)
	a.ADDPH(23, 24, 2)
	a.ST1B(4, 13)
	a.ST1H4(25, 10)
	a.FMLS(16, 21, 1)
	a.FDIV(2, 30, 7)
	a.FCVTN2(9, 12)
	a.ST1S2(14, 3)
	a.DUPElemS(26, 8, 0)
	a.DUPElemS(17, 27, 3)
	a.LD1B(29, 14)
	a.LD1B2P(11, 20)
}

// want holds the words GNU as (binutils 2.40, -march=armv8.2-a+dotprod)
// assembles from every's comments, in order.
var want = []uint32{
	0x0e3fc241, 0x0e2c807e, 0x0e6982c5, 0x0f08a747, 0x0f10a768, 0x0e217851, 0x2e6139dd,
	0x4e3fc241, 0x4e2c807e, 0x4e6982c5, 0x4f08a747, 0x4f10a768, 0x4e217851, 0x6e6139dd,
	0x4e606a8b, 0x4e6028d3, 0x4e21db17, 0x6e3cdda4, 0x4e2fd559, 0x6e21d6b0, 0x4e27cfc2,
	0x4ebf9589, 0x6eb4946e, 0x6e31951a, 0x4f8b13a3, 0x4f8ce326, 0x4fac13a3, 0x4fade326,
	0x4f8d1ba3, 0x4f8eeb26, 0x4fae1ba3, 0x4fafeb26, 0x4f3f04b2, 0x4f2006f6, 0x6f00e41b,
	0x4cdf7458, 0x4cc9a7cc, 0x4cdf7a20, 0x4cdfa8b4, 0x4c40297c, 0x4c9f7bbf, 0x4c0028c4,
	0x4ebfd641, 0x4e2cf47e, 0x6e30fac5, 0x4e29e747, 0x6e31e768, 0x4ea1b9dd, 0x0e617a8b,
	0x4e6178d3, 0x4e62d717, 0x4ebc85a4, 0x6eaf8559, 0x4f3756b0, 0x4f215423, 0x4e271fc2,
	0x4ebf1d89, 0x4e741c6e, 0x6eb11d1a, 0x4e040cb2, 0x4e183ef6, 0x4e083f9b, 0x4cdf2858,
	0x4c9f2bcc, 0x4c9f2e20, 0x4cdf2d74, 0x4eb1bbad, 0x0e216955, 0x6eac647e, 0x6eb0aac5,
	0x6ea98f47, 0x4e21ab68, 0x0e6149dd, 0x4e614a8b, 0x0e2149dd, 0x4e214a8b, 0x4e2028d3,
	0x4e62bf17, 0x4c9f71a4, 0x0c9f7559, 0x4ea1ceb0, 0x6e27ffc2, 0x4e216989, 0x4c9fa86e,
	0x4e04051a, 0x4e1c0771, 0x4c4071dd, 0x4cdfa28b,
}

var wordLine = regexp.MustCompile(`^\tWORD \$0x([0-9a-f]{8}) // (.*)$`)

func lines(t *testing.T) (words []uint32, asm []string) {
	var b bytes.Buffer
	every(Writer{W: &b})
	for _, l := range strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n") {
		m := wordLine.FindStringSubmatch(l)
		if m == nil {
			t.Fatalf("line %q is not a WORD with its instruction", l)
		}
		w, _ := strconv.ParseUint(m[1], 16, 32)
		words, asm = append(words, uint32(w)), append(asm, m[2])
	}
	return words, asm
}

// TestEncodings compares every instruction's word with GNU as's.
func TestEncodings(t *testing.T) {
	words, asm := lines(t)
	if len(words) != len(want) {
		t.Fatalf("%d instructions, want %d", len(words), len(want))
	}
	for i, w := range words {
		if w != want[i] {
			t.Errorf("%s: %#08x, GNU as %#08x", asm[i], w, want[i])
		}
	}
}

// TestEncodingsGNUAs assembles the comments with aarch64-linux-gnu-as when
// it is installed (Debian binutils-aarch64-linux-gnu), so that new
// instructions can be checked and want rewritten.
func TestEncodingsGNUAs(t *testing.T) {
	as, err := exec.LookPath("aarch64-linux-gnu-as")
	if err != nil {
		t.Skip("aarch64-linux-gnu-as not installed")
	}
	words, asm := lines(t)
	dir := t.TempDir()
	src, obj := filepath.Join(dir, "w.s"), filepath.Join(dir, "w.o")
	if err := os.WriteFile(src, []byte(strings.Join(asm, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(as, "-march=armv8.2-a+dotprod", "-o", obj, src).CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", as, err, out)
	}
	text := textSection(t, obj)
	if len(text) != 4*len(words) {
		t.Fatalf("GNU as wrote %d bytes of code for %d instructions", len(text), len(words))
	}
	var got []string
	for i, w := range words {
		g := binary.LittleEndian.Uint32(text[4*i:])
		got = append(got, fmt.Sprintf("%#08x", g))
		if g != w {
			t.Errorf("%s: %#08x, GNU as %#08x", asm[i], w, g)
		}
	}
	if t.Failed() {
		t.Logf("GNU as: %s", strings.Join(got, ", "))
	}
}

// textSection returns the .text bytes of the ELF object at path.
func textSection(t *testing.T, path string) []byte {
	f, err := elf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sec := f.Section(".text")
	if sec == nil {
		t.Fatalf("%s has no .text", path)
	}
	b, err := sec.Data()
	if err != nil {
		t.Fatal(err)
	}
	return b
}
