//go:build !race

package qgemm

// raceEnabled reports a -race build (sync.Pool drops items at random there).
const raceEnabled = false
