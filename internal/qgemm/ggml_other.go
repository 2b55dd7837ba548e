//go:build !(amd64 || arm64) || purego

package qgemm

import "github.com/zerfoo/zerfoo/gguf/quant"

// ggmlVariants holds the generic kernel only: the super-block kernels have
// no assembly for this architecture (or the purego tag forbids it).
var ggmlVariants = []ggmlVariant{ggmlGeneric}

// ggmlBest is the variant GGML.MatMul uses.
var ggmlBest = ggmlGeneric

func ggmlCallAVX512(*format, *gargs, int) bool { return false }

func ggmlCallAVX2(*format, *gargs, int) bool { return false }

func ggmlCallVNNI(*format, *gargs, int) bool { return false }

func ggmlCallGroups(ggmlVariant, *format, *gargs, int, int, bool) bool { return false }

// ggmlGridKernels: no kernels look up grid indices here (gridFormat).
const ggmlGridKernels = false

// ggmlGridAVX2: no AVX2 grid kernels here (gridFormat).
const ggmlGridAVX2 = false

// ggmlPlane1Types: no AVX2 kernels here (plane1Format).
var ggmlPlane1Types []quant.Type

// ggmlCodes3: the table codes stay 4-bit here (codeFormat).
const ggmlCodes3 = false

func ggmlExpandAVX512(*format, *gexpand) bool { return false }
func ggmlExpandAVX2(*format, *gexpand) bool   { return false }
