package deployaction_test

import (
	"go/parser"
	"go/token"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/autonote/deploy-action/"

// TestImportTableIsTrue holds CONTRIBUTING.md's "who owns what" table to
// the code: every package under internal/ and cmd/ has a row, and imports
// of this module's packages only what its row allows.
func TestImportTableIsTrue(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile("CONTRIBUTING.md")
	if err != nil {
		t.Fatal(err)
	}
	rows := importTable(t, string(raw))
	imports := map[string][]string{}
	for _, dir := range goPackages(t) {
		imports[dir] = moduleImports(t, dir)
	}
	for _, dir := range goPackages(t) {
		allowed, ok := rows[dir]
		if !ok {
			allowed, ok = rows[path.Dir(dir)+"/*"]
		}
		if !ok {
			t.Errorf("%s has no row in CONTRIBUTING.md's table of who owns what: add one", dir)
			continue
		}
		for _, imp := range imports[dir] {
			if !allowed(imp) {
				t.Errorf("%s imports %s, which its row in CONTRIBUTING.md does not allow: fix the import, or the row", dir, imp)
			}
		}
	}
}

var backticked = regexp.MustCompile("`([^`]+)`")

// TestShippedBinariesLinkNoTestBed: what ships (the action, the bootstrap,
// the hook, the terminal's deploy-action) reaches neither the test bed nor
// the ECS simulator through any import; the demo alone runs on them.
func TestShippedBinariesLinkNoTestBed(t *testing.T) {
	t.Parallel()
	imports := map[string][]string{}
	for _, dir := range goPackages(t) {
		imports[dir] = moduleImports(t, dir)
	}
	for _, bin := range []string{"cmd/action", "cmd/bootstrap", "cmd/deploy-hook", "cmd/deploy-action"} {
		seen := map[string]bool{}
		var visit func(dir string, via []string)
		visit = func(dir string, via []string) {
			if seen[dir] {
				return
			}
			seen[dir] = true
			if strings.HasPrefix(dir, "internal/testbed") || dir == "internal/ecssim" {
				t.Errorf("%s links the test bed: %s", bin, strings.Join(append(via, dir), " → "))
				return
			}
			for _, imp := range imports[dir] {
				visit(imp, append(slices.Clone(via), dir))
			}
		}
		visit(bin, nil)
	}
}

// importTable reads the table's rows: each package (or dir/*) to what it
// may import of this module.
func importTable(t *testing.T, doc string) map[string]func(string) bool {
	t.Helper()
	_, rest, ok := strings.Cut(doc, "| package | owns | may import |")
	if !ok {
		t.Fatal("CONTRIBUTING.md has no table of who owns what")
	}
	rows := map[string]func(string) bool{}
	for _, line := range strings.Split(rest, "\n")[2:] {
		cells := strings.Split(line, "|")
		if len(cells) < 5 {
			break
		}
		var pkgs []string
		for i, m := range backticked.FindAllStringSubmatch(cells[1], -1) {
			p := m[1]
			if i > 0 && !strings.Contains(p, "/") { // `internal/testbed/awsjudge`, `awsmodel`: beside the first
				p = path.Dir(pkgs[0]) + "/" + p
			}
			pkgs = append(pkgs, p)
		}
		rule := cells[3]
		var names []string
		for _, m := range backticked.FindAllStringSubmatch(rule, -1) {
			names = append(names, strings.TrimSuffix("internal/"+strings.TrimPrefix(m[1], "internal/"), "/"))
		}
		anything := strings.Contains(rule, "anything")
		allow := func(imp string) bool {
			switch {
			case anything:
				return true
			case slices.Contains(names, "internal"):
				return strings.HasPrefix(imp, "internal/") && !strings.HasPrefix(imp, "internal/testbed") && imp != "internal/ecssim"
			}
			return slices.Contains(names, imp)
		}
		for _, p := range pkgs {
			rows[p] = allow
		}
	}
	return rows
}

// goPackages are the directories under internal/ and cmd/ with Go code
// other than tests.
func goPackages(t *testing.T) []string {
	t.Helper()
	var dirs []string
	for _, root := range []string{"internal", "cmd"} {
		err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") || strings.Contains(p, "/testdata/") {
				return err
			}
			if dir := filepath.ToSlash(filepath.Dir(p)); !slices.Contains(dirs, dir) {
				dirs = append(dirs, dir)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return dirs
}

// moduleImports are the packages of this module dir's code (tests aside)
// imports, relative to the module ("internal/awsenv").
func moduleImports(t *testing.T, dir string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		parsed, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range parsed.Imports {
			p := strings.Trim(imp.Path.Value, `"`)
			if rel, ok := strings.CutPrefix(p, module); ok && !slices.Contains(out, rel) {
				out = append(out, rel)
			}
		}
	}
	return out
}
