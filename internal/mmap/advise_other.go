//go:build !linux

package mmap

// HugePages does nothing here (see advise_linux.go).
func HugePages([]byte) {}

// Populate does nothing here (see advise_linux.go).
func Populate([]byte) {}
