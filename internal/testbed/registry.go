package testbed

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// Registry is a running Debian docker-registry (distribution 2.8) on a
// loopback port, with htpasswd auth that admits only user AWS with moto's
// ECR password.
type Registry struct {
	Host string // 127.0.0.1:PORT
	Dir  string // its storage
	cmd  *exec.Cmd
}

// StartRegistry starts docker-registry with a configuration of its own and
// waits until it answers. DOCKER_REGISTRY names the binary when it is not
// docker-registry on PATH.
func StartRegistry(ctx context.Context) (*Registry, error) {
	bin := os.Getenv("DOCKER_REGISTRY")
	if bin == "" {
		bin = "docker-registry"
	}
	path, err := exec.LookPath(bin)
	if err != nil {
		return nil, fmt.Errorf("find docker-registry: %w (install it with: apt-get install docker-registry)", err)
	}
	dir, err := os.MkdirTemp("", "testbed-registry-")
	if err != nil {
		return nil, err
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(ECRPassword), bcrypt.MinCost)
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "htpasswd"), []byte("AWS:"+string(hash)+"\n"), 0o600); err != nil {
		return nil, err
	}
	// A port another process takes between freePort and the registry's
	// bind makes it exit: it starts again on another, twice at most.
	for attempt := 1; ; attempt++ {
		port, err := freePort()
		if err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
		host := "127.0.0.1:" + strconv.Itoa(port)
		cmd, err := startRegistryAt(ctx, path, dir, host)
		if err == nil {
			return &Registry{Host: host, Dir: dir, cmd: cmd}, nil
		}
		if attempt == 3 || !strings.Contains(err.Error(), "in use") {
			os.RemoveAll(dir)
			return nil, err
		}
	}
}

// startRegistryAt writes the registry's configuration for host and starts
// it there.
func startRegistryAt(ctx context.Context, path, dir, host string) (*exec.Cmd, error) {
	config := fmt.Sprintf(`version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: %s
  delete:
    enabled: true
http:
  addr: %s
auth:
  htpasswd:
    realm: testbed
    path: %s
`, filepath.Join(dir, "data"), host, filepath.Join(dir, "htpasswd"))
	if err := os.WriteFile(filepath.Join(dir, "config.yml"), []byte(config), 0o600); err != nil {
		return nil, err
	}
	cmd := exec.Command(path, "serve", filepath.Join(dir, "config.yml"))
	// Up means it answers /v2/, with 401 since it wants credentials.
	err := serve(ctx, cmd, "http://"+host+"/v2/", 30*time.Second, func(code int) bool {
		return code == http.StatusUnauthorized || code == http.StatusOK
	})
	return cmd, err
}

// Stop ends the registry and removes its storage.
func (r *Registry) Stop() error {
	if r == nil {
		return nil
	}
	_ = r.cmd.Process.Kill()
	return os.RemoveAll(r.Dir)
}
