package gguf

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/zerfoo/zerfoo/gguf/quant"
)

// Inspect writes a human-readable description of f to w: header facts
// (and how many files a split model spans), every metadata entry (arrays
// summarized to their type, length and first elements), a table of tensors
// (name, type, ggml-order shape, bytes, and the file of a split model),
// totals (parameter count, data size, bits per weight) and a table by
// tensor type (see TypeStats) with each type's share of the data bytes and
// its bits per weight.
func Inspect(w io.Writer, f *File) error {
	ew := &errWriter{w: w}
	ew.printf("GGUF v%d, %d metadata entries, %d tensors, alignment %d, data at offset %d",
		f.Version, len(f.Metadata), len(f.Tensors), f.Alignment, f.DataOffset)
	split := f.Splits() > 1
	if split {
		ew.printf(" (first file), split in %d files", f.Splits())
	}
	ew.printf("\n\n")
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
	fileCol := func(t *TensorInfo) string { return "" }
	if split {
		fileCol = func(t *TensorInfo) string { return fmt.Sprintf("%d\t", t.Split+1) }
		fmt.Fprintf(tw, "  name\ttype\tshape\tbytes\tfile\t\n")
	} else {
		fmt.Fprintf(tw, "  name\ttype\tshape\tbytes\t\n")
	}
	var params, bytes int64
	for _, t := range f.Tensors {
		dims := make([]string, len(t.Dims))
		for i, d := range t.Dims {
			dims[i] = fmt.Sprint(d)
		}
		fmt.Fprintf(tw, "  %s\t%v\t[%s]\t%d\t%s\n", t.Name, t.Type, strings.Join(dims, " "), t.Size, fileCol(&t))
		params += t.Elements()
		bytes += t.Size
	}
	tw.Flush()
	bpw := 0.0
	if params > 0 {
		bpw = float64(8*bytes) / float64(params)
	}
	ew.printf("\nTotal: %d parameters, %d bytes (%.2f MiB), %.3f bits per weight\n", params, bytes, float64(bytes)/(1<<20), bpw)
	ew.printf("\nBy type:\n")
	tw = tabwriter.NewWriter(ew, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "  %-8s\ttensors\telements\tbytes\tshare\tbits/weight\t\n", "type")
	for _, s := range TypeStats(f) {
		share := 0.0
		if bytes > 0 {
			share = 100 * float64(s.Bytes) / float64(bytes)
		}
		fmt.Fprintf(tw, "  %-8v\t%d\t%d\t%d\t%.1f %%\t%.3f\t\n", s.Type, s.Tensors, s.Elements, s.Bytes, share, float64(8*s.Bytes)/float64(max(s.Elements, 1)))
	}
	tw.Flush()
	return ew.err
}

// TypeStat sums the tensors of one ggml type.
type TypeStat struct {
	Type     quant.Type
	Tensors  int
	Elements int64
	Bytes    int64
}

// TypeStats returns the tensor count, elements and data bytes of f per
// tensor type, largest byte count first (ties by type id).
func TypeStats(f *File) []TypeStat {
	idx := map[quant.Type]int{}
	var out []TypeStat
	for _, t := range f.Tensors {
		i, ok := idx[t.Type]
		if !ok {
			i = len(out)
			idx[t.Type] = i
			out = append(out, TypeStat{Type: t.Type})
		}
		out[i].Tensors++
		out[i].Elements += t.Elements()
		out[i].Bytes += t.Size
	}
	sort.Slice(out, func(a, b int) bool {
		if out[a].Bytes != out[b].Bytes {
			return out[a].Bytes > out[b].Bytes
		}
		return out[a].Type < out[b].Type
	})
	return out
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
