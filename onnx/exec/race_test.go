//go:build race

package exec

// raceEnabled reports a -race build, where the heavy tests run a subset.
const raceEnabled = true
