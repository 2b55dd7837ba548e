//go:build !(amd64 || arm64) || purego

package gemma3

// geglu sets out[i] = gelu(g[i])·u[i] (see gegluGeneric). out may be g.
func geglu(out, g, u []float32) { gegluGeneric(out, g, u) }
