//go:build !purego

package qgemm

import (
	"os"
	"os/exec"
	"testing"
)

// TestGGMLBestHasKernelAVX2 runs TestGGMLBestHasKernel again in a child
// process that sees an AVX2-only CPU (GODEBUG=cpu.avx512f=off: x/sys/cpu
// then reports no AVX-512), so that machines with AVX-512 check the
// forms and kernels of the AVX2 tier too.
func TestGGMLBestHasKernelAVX2(t *testing.T) {
	if !hasAVX512 || !hasAVX2 {
		t.Skip("needs a CPU with AVX-512 (to turn it off) and AVX2")
	}
	cmd := exec.Command(os.Args[0], "-test.run", "^TestGGMLBestHasKernel$", "-test.v")
	cmd.Env = append(os.Environ(), "GODEBUG=cpu.avx512f=off")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("AVX2-only child: %v\n%s", err, out)
	}
	t.Logf("AVX2-only child:\n%s", out)
}
