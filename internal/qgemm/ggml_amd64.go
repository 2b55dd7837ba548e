//go:build !purego

package qgemm

//go:generate go run gen_ggml_asm.go

// ggmlVariants lists the super-block kernel variants this CPU supports,
// slowest first (the generic one always).
var ggmlVariants = func() []ggmlVariant {
	vs := []ggmlVariant{ggmlGeneric}
	if hasAVX512 {
		vs = append(vs, ggmlVariant{name: "avx512", id: idAVX512})
	}
	return vs
}()

// ggmlBest is the variant GGML.MatMul uses.
var ggmlBest = ggmlVariants[len(ggmlVariants)-1]
