//go:build !race

package gemma3_test

// raceEnabled reports a -race build (sync.Pool drops items at random there,
// so allocation counts are meaningless).
const raceEnabled = false
