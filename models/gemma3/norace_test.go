//go:build !race

package gemma3

// raceEnabled reports a -race build (sync.Pool drops items at random there,
// so allocation counts are meaningless).
const raceEnabled = false
