package integration

import (
	"bytes"
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// withoutExamples are the packages TestExamples does not require Examples
// of: main packages (see TestExamples) and these, which users do not import —
// the tests themselves, the example programs, tools, and every internal
// package.
var withoutExamples = regexp.MustCompile(`^(integration|cmd(/.*)?|examples(/.*)?|tools(/.*)?|(.*/)?internal(/.*)?)$`)

// TestExamples keeps README.md's "each package has a doc comment and
// Examples" true: every public package of the module (not a main package,
// not matched by withoutExamples) has at least one Example function in its
// _test.go files, where go doc and pkg.go.dev show it.
func TestExamples(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go command")
	}
	cmd := exec.Command("go", "list", "-json", "./...")
	cmd.Dir = ".."
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	const mod = "github.com/zerfoo/zerfoo/"
	dec := json.NewDecoder(bytes.NewReader(out))
	checked := 0
	for {
		var p struct {
			ImportPath, Dir, Name     string
			TestGoFiles, XTestGoFiles []string
		}
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		name := strings.TrimPrefix(p.ImportPath, mod)
		if p.Name == "main" || withoutExamples.MatchString(name) {
			continue
		}
		checked++
		var examples []string
		fset := token.NewFileSet()
		for _, f := range append(p.TestGoFiles, p.XTestGoFiles...) {
			file, err := parser.ParseFile(fset, filepath.Join(p.Dir, f), nil, parser.SkipObjectResolution)
			if err != nil {
				t.Errorf("%s: %v", name, err)
				continue
			}
			for _, d := range file.Decls {
				if fn, ok := d.(*ast.FuncDecl); ok && fn.Recv == nil && strings.HasPrefix(fn.Name.Name, "Example") {
					examples = append(examples, fn.Name.Name)
				}
			}
		}
		t.Logf("%s: %v", name, examples)
		if len(examples) == 0 {
			t.Errorf("package %s has no Example function in its _test.go files", name)
		}
	}
	if checked == 0 {
		t.Error("go list found no public package")
	}
}
