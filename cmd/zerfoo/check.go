package main

import (
	"errors"
	"fmt"
	"github.com/zerfoo/zerfoo/hf"
	"io"
	"math"
	"os"
)

// The checks below run from the commands' Validate methods, which kong
// calls after parsing and before Run: a bad option is a usage error (exit
// 2) reported before any model is loaded or any output is printed.

// checks collects the first failed check.
type checks struct{ err error }

// check records msg for flag (with its value) unless ok.
func (c *checks) check(ok bool, flag string, value any, msg string) {
	if !ok && c.err == nil {
		c.err = fmt.Errorf("%s %v: %s", flag, value, msg)
	}
}

// atLeast checks v ≥ lo.
func (c *checks) atLeast(flag string, v, lo int, why string) {
	c.check(v >= lo, flag, v, fmt.Sprintf("must be ≥ %d%s", lo, why))
}

// float checks that v is a finite number in [lo, hi] (hi: +Inf for none).
func (c *checks) float(flag string, v, lo, hi float64, why string) {
	ok := !math.IsNaN(v) && !math.IsInf(v, 0) && v >= lo && v <= hi
	if math.IsInf(hi, 1) {
		c.check(ok, flag, v, fmt.Sprintf("must be a number ≥ %g%s", lo, why))
	} else {
		c.check(ok, flag, v, fmt.Sprintf("must be in [%g, %g]%s", lo, hi, why))
	}
}

// sampling checks the sampling flags shared by generate and chat.
func (c *checks) sampling(temperature float64, topK int, topP, minP, penalty float64) {
	c.float("--temperature", temperature, 0, math.Inf(1), " (0: greedy)")
	c.atLeast("--top-k", topK, 0, " (0: off)")
	c.check(topP > 0 && topP <= 1, "--top-p", topP, "must be in (0, 1] (1: off)")
	c.float("--min-p", minP, 0, 1, " (0: off)")
	c.float("--repeat-penalty", penalty, 0, math.Inf(1), " (1: off)")
}

// file checks that path names an existing regular file (flag "" for an
// argument). An empty path passes: kong reports a missing required one.
func (c *checks) file(flag, path string) {
	if c.err != nil || path == "" {
		return
	}
	if flag == "" {
		flag = "file"
	}
	fi, err := os.Stat(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		c.err = fmt.Errorf("%s %s: no such file", flag, path)
	case err != nil:
		c.err = fmt.Errorf("%s: %w", flag, err)
	case !fi.Mode().IsRegular():
		c.err = fmt.Errorf("%s %s: not a regular file", flag, path)
	}
}

// model checks a --model value: a regular file, or a Hugging Face
// checkpoint folder (a directory with a config.json, see hf.IsFolder).
func (c *checks) model(flag, path string) {
	if c.err != nil || path == "" || hf.IsFolder(path) || hf.IsGenAIFolder(path) {
		return
	}
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		c.err = fmt.Errorf("%s %s: not a regular file, nor a Hugging Face checkpoint folder (no %s) or an onnxruntime-genai export (no %s)", flag, path, hf.ConfigFile, hf.GenAIConfigFile)
		return
	}
	c.file(flag, path)
}

// readText returns text, or all of stdin when text is "-".
func readText(s *streams, text string) (string, error) {
	if text != "-" {
		return text, nil
	}
	b, err := io.ReadAll(s.in)
	if err != nil {
		return "", fmt.Errorf("reading stdin: %w", err)
	}
	return string(b), nil
}
