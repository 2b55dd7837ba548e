//go:build !linux

package gemma3

// releasePages is a no-op where the loader does not drop file pages (see
// release_linux.go).
func releasePages([]byte) {}

// region is a file mapping (unused here).
type region struct{}

// fileRegions returns nil: pages are not released here.
func fileRegions() []region { return nil }

// fileMapped reports false.
func fileMapped([]region, []byte) bool { return false }
