package main

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"

	"github.com/zerfoo/zerfoo/internal/defaultmodel"
)

// quiet returns streams that discard everything and read an empty stdin.
func quiet() *streams {
	return &streams{in: strings.NewReader(""), out: io.Discard, err: io.Discard, quiet: true}
}

// zerfoo runs the command line args with stdin and returns the exit status,
// stdout and stderr.
func zerfoo(t *testing.T, ctx context.Context, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errw strings.Builder
	code := run(ctx, args, strings.NewReader(stdin), &out, &errw)
	return code, out.String(), errw.String()
}

func builtin(t *testing.T) string {
	t.Helper()
	p, err := defaultmodel.Path()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestUsageErrors(t *testing.T) {
	model := builtin(t)
	dir := t.TempDir()
	for _, tc := range []struct {
		args       []string
		msg, usage string
	}{
		{[]string{"generate", "--bogus"}, "unknown flag --bogus", "zerfoo generate"},
		{[]string{"tokenize", "--model", model}, `expected "<text>"`, "zerfoo tokenize"},
		{[]string{"generate", "--prompt", "x", "--max-tokens", "abc"}, "--max-tokens", "zerfoo generate"},
		{[]string{"generate", "--prompt", "x", "--max-tokens", "-1"}, "--max-tokens -1: must be ≥ 0", "zerfoo generate"},
		{[]string{"generate", "--prompt", "x", "--temperature", "-0.5"}, "--temperature -0.5: must be a number ≥ 0", "zerfoo generate"},
		{[]string{"generate", "--prompt", "x", "--top-p", "0"}, "--top-p 0: must be in (0, 1]", "zerfoo generate"},
		{[]string{"generate", "--prompt", "x", "--top-k", "-3"}, "--top-k -3: must be ≥ 0", "zerfoo generate"},
		{[]string{"generate", "--prompt", "x", "--threads", "-2"}, "--threads -2: must be ≥ 0", "zerfoo generate"},
		{[]string{"generate", "--prompt", "x", "--seed", "-1"}, "--seed", "zerfoo generate"},
		{[]string{"generate", "--prompt", "x", "--model", filepath.Join(dir, "none.gguf")}, "none.gguf: no such file", "zerfoo generate"},
		{[]string{"generate", "--prompt", "x", "--model", dir}, "not a regular file", "zerfoo generate"},
		{[]string{"chat", "--max-tokens", "-5"}, "--max-tokens -5: must be ≥ 0", "zerfoo chat"},
		{[]string{"bench", "--size", "12x0x3"}, `--size "12x0x3": want MxNxK`, "zerfoo bench matmul"},
		{[]string{"bench", "--size", "64x64x64,bad"}, `--size "bad"`, "zerfoo bench matmul"},
		{[]string{"bench", "--size", "1000000x1000000x1000000"}, "over the memory budget", "zerfoo bench matmul"},
		{[]string{"bench", "gguf", "--type", "Q9_9"}, "--type Q9_9", "zerfoo bench gguf"},
		{[]string{"bench", "matmulnbits", "--bits", "3"}, "--bits 3: must be 2, 4 or 8", "zerfoo bench matmulnbits"},
		{[]string{"gguf", "inspect", filepath.Join(dir, "x.gguf")}, "no such file", "zerfoo gguf inspect"},
		{[]string{"serve", "--model", model, "--parallel", "0"}, "--parallel 0: must be ≥ 1", "zerfoo serve"},
		{[]string{"nope"}, "unexpected argument nope", "zerfoo"},
		{nil, "expected one of", "zerfoo"},
	} {
		code, out, errs := zerfoo(t, context.Background(), "", tc.args...)
		lines := strings.Split(strings.TrimSuffix(errs, "\n"), "\n")
		if code != exitUsage || out != "" || len(lines) != 2 || !strings.HasPrefix(lines[0], "zerfoo: ") ||
			!strings.Contains(lines[0], tc.msg) || lines[1] != "run '"+tc.usage+" --help' for usage" {
			t.Errorf("zerfoo %q: exit %d, stdout %q, stderr %q; want exit 2, no stdout, stderr \"zerfoo: …%s…\" and the hint for %q",
				tc.args, code, out, errs, tc.msg, tc.usage)
		}
	}
}

// TestValidateBeforeLoad gives a model that does not exist and a bad
// temperature: the temperature is reported, so the flags were checked
// before the model was touched.
func TestValidateBeforeLoad(t *testing.T) {
	code, out, errs := zerfoo(t, context.Background(), "", "generate", "--model", filepath.Join(t.TempDir(), "missing.gguf"),
		"--prompt", "x", "--temperature", "-1")
	if code != exitUsage || out != "" || !strings.Contains(errs, "--temperature -1") || strings.Contains(errs, "missing.gguf") {
		t.Errorf("exit %d, stdout %q, stderr %q; want exit 2 and only the temperature error", code, out, errs)
	}
}

func TestHelp(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"generate", "--help"}, {"bench", "gguf", "-h"}} {
		code, out, errs := zerfoo(t, context.Background(), "", args...)
		if code != exitOK || !strings.Contains(out, "Usage: zerfoo") || errs != "" {
			t.Errorf("zerfoo %q: exit %d, stdout %q, stderr %q; want exit 0 and usage on stdout", args, code, out, errs)
		}
	}
}

// tokens runs zerfoo tokenize and returns its stdout.
func tokens(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	code, out, errs := zerfoo(t, context.Background(), stdin, append([]string{"tokenize", "--model", builtin(t)}, args...)...)
	if code != exitOK || errs != "" {
		t.Fatalf("zerfoo tokenize %q: exit %d, stderr %q", args, code, errs)
	}
	return out
}

// pieces joins the quoted pieces that zerfoo tokenize printed.
func pieces(t *testing.T, out string) string {
	t.Helper()
	var b strings.Builder
	for _, l := range strings.Split(strings.TrimSpace(out), "\n")[1:] {
		f := strings.Fields(l)
		p, err := strconv.Unquote(strings.Join(f[1:], " "))
		if err != nil {
			t.Fatalf("tokenize line %q: %v", l, err)
		}
		b.WriteString(p)
	}
	return b.String()
}

func TestTextArguments(t *testing.T) {
	const text = "-273.15 C"
	dash := tokens(t, "", "--", text)
	if got := pieces(t, dash); !strings.HasSuffix(got, "273.15▁C") || !strings.Contains(got, "-") {
		t.Errorf("tokenize -- %q: pieces %q\n%s", text, got, dash)
	}
	if got := tokens(t, text, "-"); got != dash {
		t.Errorf("tokenize - (%q on stdin):\n%s\nwant the tokens of the argument:\n%s", text, got, dash)
	}
	if got := tokens(t, "-", "--no-add-special", "--", "-"); pieces(t, got) != "-" {
		t.Errorf("tokenize -- - with \"-\" on stdin: %s", got)
	}
	// A value that starts with "-" is a value, not a flag.
	code, out, errs := zerfoo(t, context.Background(), "", "generate", "--prompt", "-x", "--max-tokens", "2", "--quiet")
	if code != exitOK || out == "" {
		t.Errorf("generate --prompt -x: exit %d, stdout %q, stderr %q", code, out, errs)
	}
	// --prompt - reads stdin.
	_, fromArg, _ := zerfoo(t, context.Background(), "", "generate", "--prompt", "A goroutine is", "--max-tokens", "6", "-q")
	code, fromStdin, errs := zerfoo(t, context.Background(), "A goroutine is", "generate", "--prompt", "-", "--max-tokens", "6", "-q")
	if code != exitOK || fromStdin != fromArg {
		t.Errorf("generate --prompt - with the prompt on stdin: exit %d, stdout %q (stderr %q), want %q", code, fromStdin, errs, fromArg)
	}
	// --prefer-speed changes no result (the built-in model has no type with
	// two forms; TestLoadPreferSpeed checks one that has).
	code, fast, errs := zerfoo(t, context.Background(), "", "generate", "--prompt", "A goroutine is", "--max-tokens", "6", "-q", "--prefer-speed")
	if code != exitOK || fast != fromArg {
		t.Errorf("generate --prefer-speed: exit %d, stdout %q (stderr %q), want %q", code, fast, errs, fromArg)
	}
}

func TestGenerateStreams(t *testing.T) {
	code, out, errs := zerfoo(t, context.Background(), "", "generate", "--prompt", "A goroutine is", "--max-tokens", "8", "--seed", "1")
	if code != exitOK || out != " not panicking or complete\n" {
		t.Errorf("exit %d, stdout %q; want 0 and the greedy continuation", code, out)
	}
	if strings.Contains(errs, "\r") || !strings.Contains(errs, "loading: 100%") || !strings.Contains(errs, "generation: 8 tokens") {
		t.Errorf("stderr (not a terminal) %q: want plain progress lines, no \\r, and the statistics", errs)
	}
	_, _, errs = zerfoo(t, context.Background(), "", "-q", "generate", "--prompt", "A goroutine is", "--max-tokens", "2")
	if strings.Contains(errs, "loading") {
		t.Errorf("--quiet: stderr %q holds progress", errs)
	}
}

func TestMaxTokensZero(t *testing.T) {
	code, out, errs := zerfoo(t, context.Background(), "", "generate", "--prompt", "A goroutine is", "--max-tokens", "0", "--ctx-size", "16", "-q")
	if code != exitOK || out == "" || !strings.Contains(errs, "zerfoo: generation stopped: the context of 16 tokens is full (--ctx-size raises it") {
		t.Errorf("--max-tokens 0 --ctx-size 16: exit %d, stdout %q, stderr %q; want the context notice", code, out, errs)
	}
	code, _, errs = zerfoo(t, context.Background(), "", "generate", "--prompt", "A goroutine is", "--max-tokens", "3", "-q")
	if code != exitOK || strings.Contains(errs, "context") {
		t.Errorf("--max-tokens 3: exit %d, stderr %q; want no context notice", code, errs)
	}
}

func TestStatuses(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	code, _, errs := zerfoo(t, ctx, "", "generate", "--prompt", "x")
	if code != exitInterrupted || errs != "zerfoo: interrupted\n" {
		t.Errorf("interrupted: exit %d, stderr %q; want 130 and \"zerfoo: interrupted\"", code, errs)
	}
	notGGUF := filepath.Join(t.TempDir(), "x.gguf")
	if err := os.WriteFile(notGGUF, []byte("not a model"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errs := zerfoo(t, context.Background(), "", "tokenize", "--model", notGGUF, "hi")
	if code != exitError || out != "" || !strings.HasPrefix(errs, "zerfoo: ") || strings.Count(errs, "\n") != 1 {
		t.Errorf("runtime error: exit %d, stdout %q, stderr %q; want 1 and one line", code, out, errs)
	}
}

func TestVersion(t *testing.T) {
	code, out, errs := zerfoo(t, context.Background(), "", "version")
	if !regexp.MustCompile(`^zerfoo \S+( \([0-9a-f]+(\+dirty)?\))? go\S+ \w+/\w+\n$`).MatchString(out) || code != exitOK || errs != "" {
		t.Errorf("zerfoo version: exit %d, stdout %q, stderr %q", code, out, errs)
	}
	bi := &debug.BuildInfo{GoVersion: "go1.99", Main: debug.Module{Version: "v1.2.3"}, Settings: []debug.BuildSetting{
		{Key: "vcs.revision", Value: "0123456789abcdef0123"}, {Key: "vcs.modified", Value: "true"}}}
	for _, tc := range []struct {
		override string
		bi       *debug.BuildInfo
		want     string
	}{
		{"", bi, "zerfoo v1.2.3 (0123456789ab+dirty) go1.99 "},
		{"v9", bi, "zerfoo v9 (0123456789ab+dirty) go1.99 "},
		{"", &debug.BuildInfo{GoVersion: "go1.99", Main: debug.Module{Version: "(devel)"}}, "zerfoo (devel) go1.99 "},
		{"", nil, "zerfoo (devel) go"},
	} {
		if got := versionString(tc.override, tc.bi); !strings.HasPrefix(got, tc.want) {
			t.Errorf("versionString(%q, %+v) = %q, want prefix %q", tc.override, tc.bi, got, tc.want)
		}
	}
}
