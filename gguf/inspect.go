package gguf

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/zerfoo/zerfoo/gguf/quant"
)

// Inspect writes a human-readable description of f to w: header facts,
// every metadata entry (arrays summarized to their type, length and first
// elements), a table of tensors (name, type, ggml-order shape, bytes), and
// totals: parameter count, data size, bits per weight and the bytes held
// by each tensor type.
func Inspect(w io.Writer, f *File) error {
	ew := &errWriter{w: w}
	ew.printf("GGUF v%d, %d metadata entries, %d tensors, alignment %d, data at offset %d\n\n",
		f.Version, len(f.Metadata), len(f.Tensors), f.Alignment, f.DataOffset)
	ew.printf("Metadata:\n")
	tw := tabwriter.NewWriter(ew, 0, 4, 2, ' ', 0)
	for _, kv := range f.Metadata {
		s := kv.Value.String()
		if len(s) > 200 {
			s = s[:200] + "…"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", kv.Key, kv.Value.Type, strings.ReplaceAll(s, "\n", `\n`))
	}
	tw.Flush()
	ew.printf("\nTensors:\n")
	tw = tabwriter.NewWriter(ew, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "  name\ttype\tshape\tbytes\t\n")
	var params, bytes int64
	perType := map[quant.Type][2]int64{}
	for _, t := range f.Tensors {
		dims := make([]string, len(t.Dims))
		for i, d := range t.Dims {
			dims[i] = fmt.Sprint(d)
		}
		fmt.Fprintf(tw, "  %s\t%v\t[%s]\t%d\t\n", t.Name, t.Type, strings.Join(dims, " "), t.Size)
		n := t.Elements()
		params += n
		bytes += t.Size
		c := perType[t.Type]
		perType[t.Type] = [2]int64{c[0] + n, c[1] + t.Size}
	}
	tw.Flush()
	bpw := 0.0
	if params > 0 {
		bpw = float64(8*bytes) / float64(params)
	}
	ew.printf("\nTotal: %d parameters, %d bytes (%.2f MiB), %.3f bits per weight\n", params, bytes, float64(bytes)/(1<<20), bpw)
	types := make([]quant.Type, 0, len(perType))
	for t := range perType {
		types = append(types, t)
	}
	sort.Slice(types, func(a, b int) bool { return perType[types[a]][1] > perType[types[b]][1] })
	for _, t := range types {
		c := perType[t]
		ew.printf("  %-8v %12d parameters %14d bytes\n", t, c[0], c[1])
	}
	return ew.err
}

type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(p)
	e.err = err
	return n, err
}

func (e *errWriter) printf(format string, args ...any) { fmt.Fprintf(e, format, args...) }
