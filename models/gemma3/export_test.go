package gemma3

// CPUSeconds is cpuSeconds (cpu_*_test.go) for the external tests of
// package gemma3_test, which share it with this package's benchmarks.
var CPUSeconds = cpuSeconds

// RaceEnabled is raceEnabled (race_test.go, norace_test.go) for the
// external tests.
const RaceEnabled = raceEnabled

// DecodePieces is decodePieces for the external benchmarks: the weight
// bytes of each product of a decode step, in order.
func (m *Model) DecodePieces() []int64 { return m.decodePieces() }
