//go:build !purego

package qgemm

//go:generate go run gen_i8_asm.go

// i8Variants lists the int8 kernel variants this CPU supports, slowest
// first; tests run each against the generic one.
var i8Variants = func() []i8Variant {
	vs := []i8Variant{i8Generic}
	if hasAVX512 {
		vs = append(vs, i8Variant{name: "avx512vnni", call: i8CallAVX512})
	}
	return vs
}()
