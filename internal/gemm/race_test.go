//go:build race

package gemm

// raceEnabled trims the test shapes: the race detector slows the float64
// reference and the pure-Go kernel ~20×.
const raceEnabled = true
