package gemma3

// CPUSeconds is cpuSeconds (cpu_*_test.go) for the external tests of
// package gemma3_test, which share it with this package's benchmarks.
var CPUSeconds = cpuSeconds

// RaceEnabled is raceEnabled (race_test.go, norace_test.go) for the
// external tests.
const RaceEnabled = raceEnabled
