//go:build !amd64 || purego

package qgemm

// i8WinVariants holds the generic windowed kernel only (assembly for amd64
// alone).
var i8WinVariants = []i8WinVariant{i8WinGeneric}
