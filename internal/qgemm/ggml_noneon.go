//go:build !arm64 || purego

package qgemm

func ggmlCallNEON(*format, *gargs, int, bool) bool { return false }
