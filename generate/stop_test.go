package generate

import (
	"strings"
	"testing"
)

func TestStopFilter(t *testing.T) {
	for _, tc := range []struct {
		stops  []string
		pieces []string
		want   []string // what push returns per piece, then flush
		stop   bool
	}{
		{nil, []string{"ab", "cd"}, []string{"ab", "cd", ""}, false},
		{[]string{"END"}, []string{"abc", "dE", "N", "Dxyz"}, []string{"abc", "d", "", "", ""}, true},
		{[]string{"END"}, []string{"xE", "Ny", "z"}, []string{"x", "ENy", "z", ""}, false},
		{[]string{"END"}, []string{"abE"}, []string{"ab", "E"}, false},  // a held-back prefix comes out at the end
		{[]string{"ab", "b"}, []string{"xab"}, []string{"x", ""}, true}, // the earliest match wins
		{[]string{"bc", "abcd"}, []string{"a", "b", "c"}, []string{"", "", "a", ""}, true},
		{[]string{"é!"}, []string{"caf", "é", "!"}, []string{"caf", "", "", ""}, true},
	} {
		f := stopFilter{stops: tc.stops}
		var got []string
		stopped := false
		for _, p := range tc.pieces {
			out, stop := f.push(p)
			got = append(got, out)
			stopped = stopped || stop
		}
		got = append(got, f.flush())
		if strings.Join(got, "|") != strings.Join(tc.want, "|") || stopped != tc.stop {
			t.Errorf("stops %q, pieces %q: got %q (stop %v), want %q (stop %v)", tc.stops, tc.pieces, got, stopped, tc.want, tc.stop)
		}
	}
}
