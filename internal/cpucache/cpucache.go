// Package cpucache reports the sizes of this CPU's data caches, which the
// GEMM kernels' cache blocking is sized from.
package cpucache

import "github.com/klauspost/cpuid/v2"

// DefaultL2 is what L2 reports where the CPU does not tell its L2 size
// (some virtual machines, CPUs that cpuid cannot read): 1 MiB, the L2 of
// AMD Zen 4/Zen 5 cores.
const DefaultL2 = 1 << 20

// L2 returns the size in bytes of one core's level-2 cache, as CPUID
// reports it (github.com/klauspost/cpuid), clamped to [128 KiB, 4 MiB], or
// DefaultL2 where it is unknown.
func L2() int { return l2 }

var l2 = clampL2(cpuid.CPU.Cache.L2)

// clampL2 turns a reported L2 size (negative or 0: unknown) into L2's
// result.
func clampL2(n int) int {
	if n <= 0 {
		return DefaultL2
	}
	return min(max(n, 128<<10), 4<<20)
}
