//go:build race

package hgemm

// raceEnabled reports a -race build (sync.Pool drops items at random there).
const raceEnabled = true
