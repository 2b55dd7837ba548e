package generate

import "strings"

// stopFilter holds back generated text that might be the start of a stop
// string, so that a stop string is never passed on, even when it is split
// across tokens.
type stopFilter struct {
	stops   []string
	pending string
	done    bool
}

// push adds generated text and returns the text that can be passed on now.
// stop reports that pending text now contains a stop string: out is the
// text before it, and the filter drops everything after.
func (f *stopFilter) push(piece string) (out string, stop bool) {
	if f.done {
		return "", true
	}
	if len(f.stops) == 0 {
		return piece, false
	}
	f.pending += piece
	first := -1
	for _, s := range f.stops {
		if i := strings.Index(f.pending, s); i >= 0 && (first < 0 || i < first) {
			first = i
		}
	}
	if first >= 0 {
		out, f.pending, f.done = f.pending[:first], "", true
		return out, true
	}
	// Keep the longest tail that begins some stop string.
	keep := 0
	for _, s := range f.stops {
		for k := min(len(s)-1, len(f.pending)); k > keep; k-- {
			if strings.HasSuffix(f.pending, s[:k]) {
				keep = k
				break
			}
		}
	}
	out = f.pending[:len(f.pending)-keep]
	f.pending = f.pending[len(f.pending)-keep:]
	return out, false
}

// flush returns the text held back when generation ends without a stop
// string.
func (f *stopFilter) flush() string {
	out := f.pending
	f.pending = ""
	if f.done {
		return ""
	}
	return out
}
