package testbed_test

import (
	"bytes"
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// TestBinariesAreStatic builds the three tools as the Dockerfile does and
// checks that they need no libc: no dynamic section, no interpreter. Then it
// runs each in an empty root, as in the distroless image.
func TestBinariesAreStatic(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the images are linux")
	}
	out := t.TempDir()
	build := exec.Command("go", "build", "-o", out+"/", "../../cmd/action", "../../cmd/bootstrap", "../../cmd/deploy-hook")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, b)
	}
	for _, name := range []string{"action", "bootstrap", "deploy-hook"} {
		path := filepath.Join(out, name)
		f, err := elf.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range f.Progs {
			if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
				t.Errorf("%s is dynamically linked", name)
			}
		}
		f.Close()
		// An empty root: only the binary, no /lib, no /etc.
		root := t.TempDir()
		b, _ := os.ReadFile(path)
		os.WriteFile(filepath.Join(root, name), b, 0o755)
		cmd := exec.Command("chroot", root, "/"+name, "-h")
		var outBuf bytes.Buffer
		cmd.Stdout, cmd.Stderr = &outBuf, &outBuf
		err = cmd.Run()
		if _, ok := err.(*exec.ExitError); err != nil && !ok {
			t.Fatalf("run %s in an empty root: %v", name, err)
		}
		if outBuf.Len() == 0 || strings.Contains(outBuf.String(), "no such file") || strings.Contains(outBuf.String(), "not found") {
			t.Errorf("%s in an empty root: %s", name, outBuf.String())
		}
	}
}
