//go:build !purego

package qgemm

import (
	"math/rand/v2"
	"os"
	"os/exec"
	"testing"
	"unsafe"

	"golang.org/x/sys/cpu"

	"github.com/zerfoo/zerfoo/gguf/quant"
)

// TestGGMLBestHasKernelAVX2 runs TestGGMLBestHasKernel again in child
// processes that see a CPU without AVX-512 (GODEBUG=cpu.avx512f=off:
// x/sys/cpu then reports no AVX-512), so that machines with AVX-512 check
// the forms and kernels of the AVX2 tiers too.
func TestGGMLBestHasKernelAVX2(t *testing.T) {
	if !hasAVX512 || !hasAVX2 {
		t.Skip("needs a CPU with AVX-512 (to turn it off) and AVX2")
	}
	// With AVX-VNNI the child's best tier is the AVX-VNNI one; turned off
	// too (x/sys/cpu's option; the runtime warns that it does not know
	// it), the plain AVX2 one.
	for _, debug := range []string{"cpu.avx512f=off", "cpu.avx512f=off,cpu.avxvnni=off"} {
		cmd := exec.Command(os.Args[0], "-test.run", "^TestGGMLBestHasKernel$", "-test.v")
		cmd.Env = append(os.Environ(), "GODEBUG="+debug)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("child with GODEBUG=%s: %v\n%s", debug, err, out)
		}
		t.Logf("child with GODEBUG=%s:\n%s", debug, out)
	}
}

// TestXorWordsAVX2 checks the AVX2 streaming read, which only CPUs without
// AVX-512 dispatch to, against the Go loop.
func TestXorWordsAVX2(t *testing.T) {
	if !hasAVX2 {
		t.Skip("no AVX2")
	}
	for _, q := range []int{0, 1, 2, 7, 1000} {
		buf := make([]uint64, 32*q)
		for i := range buf {
			buf[i] = uint64(i)*0x9e3779b97f4a7c15 + 1
		}
		if got, want := xorWordsAVX2(unsafe.SliceData(buf), 4*q), xorWordsGo(buf); got != want {
			t.Errorf("xorWordsAVX2(%d vectors) = %#x, want %#x", 4*q, got, want)
		}
	}
}

// TestPlanesWithoutGFNI runs the plane1 forms of Q5_0, Q5_1, Q5_K and Q3_K
// and Q6_K's plane2 through the AVX-VNNI variants as a CPU without GFNI
// would (hasGFNIVEX false): they must take the AVX2 tier's kernels (no
// generic fallback) and multiply as the float64 product does.
func TestPlanesWithoutGFNI(t *testing.T) {
	if !hasAVX2 || !cpu.X86.HasAVXVNNI {
		t.Skip("needs AVX-VNNI")
	}
	defer func(v bool) { hasGFNIVEX = v }(hasGFNIVEX)
	hasGFNIVEX = false
	rng := rand.New(rand.NewPCG(31, 32))
	for _, typ := range []quant.Type{quant.Q5_0, quant.Q5_1, quant.Q5_K, quant.Q3_K} {
		masks := masksFormat(typ)
		f := plane1Format(typ, masks)
		if vnniTakes(f) || !vnniTakes(masks) {
			t.Fatalf("%v: without GFNI the AVX-VNNI kernels must leave the plane1 form (only) to the AVX2 ones", typ)
		}
		checkFormVariants(t, rng, f, 2, []int{1, 3, 9}, func(v ggmlVariant) bool { return v.id == idAVXVNNI })
	}
	q6 := formats[quant.Q6_K]
	if vnniTakes(q6) {
		t.Fatal("Q6_K: without GFNI the AVX-VNNI kernels must leave it to the AVX2 ones")
	}
	checkFormVariants(t, rng, q6, 2, []int{1, 3, 9}, func(v ggmlVariant) bool { return v.id == idAVXVNNI })
}
