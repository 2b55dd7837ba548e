//go:build !linux

package mmap

// HugePages does nothing here (see advise_linux.go).
func HugePages[T any]([]T) {}

// Populate does nothing here (see advise_linux.go).
func Populate([]byte) {}
