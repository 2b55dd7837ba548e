//go:build !purego

package qgemm

// The kernels are generated with i8_amd64.s by gen_i8_asm.go (see i8_amd64.go).

// i8WinVariants lists the windowed int8 kernel variants this CPU supports,
// slowest first; tests run each against the generic one.
var i8WinVariants = func() []i8WinVariant {
	vs := []i8WinVariant{i8WinGeneric}
	if hasAVX512 {
		vs = append(vs, i8WinVariant{name: "avx512vnni", call: i8WinCallAVX512})
	}
	return vs
}()
