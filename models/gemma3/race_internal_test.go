//go:build race

package gemma3

// raceBuild reports a -race build to the internal tests (sync.Pool drops
// items at random there, so allocation counts are meaningless).
const raceBuild = true
