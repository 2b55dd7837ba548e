//go:build !linux

package gemma3

// releasePages is a no-op where the loader does not drop file pages (see
// release_linux.go).
func releasePages([]byte) {}
