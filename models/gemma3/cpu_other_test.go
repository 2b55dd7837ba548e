//go:build !(linux || darwin || freebsd)

package gemma3

import "math"

// cpuSeconds is unknown here (NaN).
func cpuSeconds() float64 { return math.NaN() }
