// Package imagepush copies an image from a source, named in the transport
// syntax skopeo users know, to a tag of an ECR repository, on
// go-containerregistry: blobs the registry has are not sent again, layers go
// up in parallel and stream from their source, and the manifest goes last,
// so no tag ever names a partial image.
package imagepush

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/autonote/deploy-action/internal/ecrimage"
)

// ErrUnknownTransport is returned for a source whose transport is not one
// of docker-daemon, docker-archive, oci-archive, oci or docker.
var ErrUnknownTransport = errors.New("unknown image transport")

// transports are the source transports Open understands.
const transports = "docker-daemon, docker-archive, oci-archive, oci, docker"

// Artifact is what a source holds: one image, or an index of images (a
// multi-platform image), which is pushed whole.
type Artifact interface {
	remote.Taggable
	Digest() (v1.Hash, error)
}

// Source is an opened source. Close removes what opening it unpacked.
type Source struct {
	Artifact Artifact
	Name     string // the source as given
	cleanup  func()
}

// Close releases the source's temporary files.
func (s *Source) Close() {
	if s.cleanup != nil {
		s.cleanup()
	}
}

// Env is the part of the environment that reaching a source needs.
type Env struct {
	// DockerHost is DOCKER_HOST; empty means unix:///var/run/docker.sock.
	DockerHost string
	// TempDir holds unpacked archives and daemon exports; empty means os.TempDir.
	TempDir string
	// Keychain has the credentials of docker:// sources; nil means the
	// Docker config's (authn.DefaultKeychain).
	Keychain authn.Keychain
}

// Open opens a source such as "oci:build/image", "docker-archive:app.tar",
// "oci-archive:app.tar", "docker://ghcr.io/autonote/server:abc" or
// "docker-daemon:autonote/server:abc".
func Open(ctx context.Context, src string, env Env) (*Source, error) {
	transport, rest, ok := strings.Cut(src, ":")
	if !ok || rest == "" {
		return nil, fmt.Errorf("%w in %q: write TRANSPORT:REFERENCE with one of %s", ErrUnknownTransport, src, transports)
	}
	var (
		s   *Source
		err error
	)
	switch transport {
	case "docker":
		s, err = openRemote(ctx, strings.TrimPrefix(rest, "//"), env.Keychain)
	case "oci":
		s, err = openLayout(rest)
	case "oci-archive":
		s, err = openOCIArchive(rest, env)
	case "docker-archive":
		s, err = openDockerArchive(rest)
	case "docker-daemon":
		s, err = openDaemon(ctx, rest, env)
	default:
		return nil, fmt.Errorf("%w %q in %q: use one of %s", ErrUnknownTransport, transport, src, transports)
	}
	if err != nil {
		return nil, fmt.Errorf("open image %s: %w", src, err)
	}
	s.Name = src
	return s, nil
}

func openRemote(ctx context.Context, ref string, keys authn.Keychain) (*Source, error) {
	if keys == nil {
		keys = authn.DefaultKeychain
	}
	var opts []name.Option
	if r, err := name.ParseReference(ref); err == nil && ecrimage.IsLoopback(r.Context().RegistryStr()) {
		opts = append(opts, name.Insecure)
	}
	r, err := name.ParseReference(ref, opts...)
	if err != nil {
		return nil, err
	}
	desc, err := remote.Get(r, remote.WithContext(ctx), remote.WithAuthFromKeychain(keys))
	if err != nil {
		return nil, err
	}
	if desc.MediaType.IsIndex() {
		idx, err := desc.ImageIndex()
		return &Source{Artifact: idx}, err
	}
	img, err := desc.Image()
	return &Source{Artifact: img}, err
}

// openLayout opens an OCI layout directory, DIR or DIR:REF where REF is the
// image's org.opencontainers.image.ref.name annotation.
func openLayout(spec string) (*Source, error) {
	dir, ref := splitPathRef(spec)
	idx, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		return nil, fmt.Errorf("read OCI layout %s: %w", dir, err)
	}
	m, err := idx.IndexManifest()
	if err != nil {
		return nil, fmt.Errorf("read OCI layout %s: %w", dir, err)
	}
	var chosen []v1.Descriptor
	var refs []string
	for _, d := range m.Manifests {
		r := d.Annotations["org.opencontainers.image.ref.name"]
		refs = append(refs, r)
		if ref == "" || r == ref {
			chosen = append(chosen, d)
		}
	}
	switch {
	case len(chosen) == 0 && ref != "":
		return nil, fmt.Errorf("OCI layout %s has no image named %q (names: %s)", dir, ref, strings.Join(refs, ", "))
	case len(chosen) == 0:
		return nil, fmt.Errorf("OCI layout %s holds no image", dir)
	case len(chosen) > 1:
		return nil, fmt.Errorf("OCI layout %s holds %d images: name one as oci:%s:REF (names: %s)", dir, len(chosen), dir, strings.Join(refs, ", "))
	}
	d := chosen[0]
	if d.MediaType.IsIndex() {
		ii, err := idx.ImageIndex(d.Digest)
		return &Source{Artifact: ii}, err
	}
	img, err := idx.Image(d.Digest)
	return &Source{Artifact: img}, err
}

func openOCIArchive(spec string, env Env) (*Source, error) {
	path, ref := splitPathRef(spec)
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	dir, err := os.MkdirTemp(env.TempDir, "oci-archive-")
	if err != nil {
		return nil, err
	}
	cleanup := func() { os.RemoveAll(dir) }
	if err := untar(f, dir); err != nil {
		cleanup()
		return nil, fmt.Errorf("unpack %s: %w", path, err)
	}
	if ref != "" {
		dir += ":" + ref
	}
	s, err := openLayout(dir)
	if err != nil {
		cleanup()
		return nil, err
	}
	s.cleanup = cleanup
	return s, nil
}

// untar unpacks regular files and directories of r under dir, refusing
// paths that would leave it.
func untar(r io.Reader, dir string) error {
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		target := filepath.Join(dir, filepath.Clean("/"+h.Name))
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(target, 0o755); err != nil {
				return err
			}
		case tar.TypeReg:
			if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
				return err
			}
			out, err := os.Create(target)
			if err != nil {
				return err
			}
			_, err = io.Copy(out, tr)
			if cerr := out.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return err
			}
		}
	}
}

func openDockerArchive(spec string) (*Source, error) {
	path, ref := splitPathRef(spec)
	if _, err := os.Stat(path); err != nil {
		return nil, err
	}
	var tag *name.Tag
	if ref != "" {
		t, err := name.NewTag(ref)
		if err != nil {
			return nil, err
		}
		tag = &t
	}
	img, err := tarball.ImageFromPath(path, tag)
	if err != nil {
		return nil, fmt.Errorf("read docker archive %s: %w", path, err)
	}
	// Reading the manifest now turns a corrupt archive into an error here,
	// not halfway through a push.
	if _, err := img.Manifest(); err != nil {
		return nil, fmt.Errorf("read docker archive %s: %w", path, err)
	}
	return &Source{Artifact: img}, nil
}

// openDaemon exports NAME:TAG from the Docker engine (GET /images/{name}/get,
// what docker save does) to a temporary docker archive.
func openDaemon(ctx context.Context, ref string, env Env) (*Source, error) {
	host := env.DockerHost
	if host == "" {
		host = "unix:///var/run/docker.sock"
	}
	u, err := url.Parse(host)
	if err != nil || u.Scheme != "unix" {
		return nil, fmt.Errorf("DOCKER_HOST %q: only unix sockets are supported", host)
	}
	socket := u.Path
	if _, err := os.Stat(socket); err != nil {
		return nil, fmt.Errorf("no Docker socket at %s: a container action sees the runner's socket only when the workflow runs on a runner with Docker; elsewhere `docker save` the image and use docker-archive:PATH", socket)
	}
	client := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", socket)
	}}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://docker/images/"+url.PathEscape(ref)+"/get", nil)
	if err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("export %s from the Docker engine: %w", ref, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
		return nil, fmt.Errorf("export %s from the Docker engine: %s: %s", ref, resp.Status, strings.TrimSpace(string(msg)))
	}
	f, err := os.CreateTemp(env.TempDir, "docker-daemon-*.tar")
	if err != nil {
		return nil, err
	}
	cleanup := func() { os.Remove(f.Name()) }
	_, err = io.Copy(f, resp.Body)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		cleanup()
		return nil, fmt.Errorf("export %s from the Docker engine: %w", ref, err)
	}
	s, err := openDockerArchive(f.Name() + ":" + ref)
	if err != nil {
		cleanup()
		return nil, err
	}
	s.cleanup = cleanup
	return s, nil
}

// splitPathRef splits PATH[:REF], where REF may itself hold colons: PATH
// is the shortest prefix that exists.
func splitPathRef(spec string) (path, ref string) {
	if _, err := os.Stat(spec); err == nil {
		return spec, ""
	}
	for i := range len(spec) {
		if spec[i] != ':' {
			continue
		}
		if _, err := os.Stat(spec[:i]); err == nil {
			return spec[:i], spec[i+1:]
		}
	}
	return spec, ""
}
