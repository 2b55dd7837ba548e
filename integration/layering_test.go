package integration

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

// outsideLayering are the packages that only tests, examples and tools
// use: they may import anything and nothing in the list imports them.
var outsideLayering = regexp.MustCompile(`^(integration|examples/.*|tools/.*|internal/ortgolden|models/gemma3/gemma3test)$`)

// TestLayering keeps docs/ARCHITECTURE.md true: every package of the module
// is in its table, and each imports (outside its tests) only packages
// listed above it.
func TestLayering(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go command")
	}
	doc, err := os.ReadFile("../docs/ARCHITECTURE.md")
	if err != nil {
		t.Fatal(err)
	}
	pos := map[string]int{}
	cell := regexp.MustCompile(`^\| ([^|]*) \|`)
	for _, line := range strings.Split(string(doc), "\n") {
		m := cell.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		for _, p := range regexp.MustCompile("`([^`]+)`").FindAllStringSubmatch(m[1], -1) {
			pos[p[1]] = len(pos)
		}
	}
	cmd := exec.Command("go", "list", "-json", "./...")
	cmd.Dir = ".."
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	const mod = "github.com/zerfoo/zerfoo/"
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p struct {
			ImportPath string
			Imports    []string
		}
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		name := strings.TrimPrefix(p.ImportPath, mod)
		if outsideLayering.MatchString(name) {
			continue
		}
		at, ok := pos[name]
		if !ok {
			t.Errorf("package %s is not in docs/ARCHITECTURE.md", name)
			continue
		}
		for _, imp := range p.Imports {
			dep, ok := strings.CutPrefix(imp, mod)
			if !ok {
				continue
			}
			if d, ok := pos[dep]; !ok || d >= at {
				t.Errorf("%s imports %s, which docs/ARCHITECTURE.md does not list above it", name, dep)
			}
		}
	}
}
