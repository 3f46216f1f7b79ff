package imagepush_test

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	ecrtypes "github.com/aws/aws-sdk-go-v2/service/ecr/types"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/autonote/deploy-action/internal/ecrimage"
	"github.com/autonote/deploy-action/internal/imagepush"
	"github.com/autonote/deploy-action/internal/testbed"
)

var (
	motoServer testbed.LazyMoto
	registry   lazyRegistry
	seq        atomic.Int64
)

func TestMain(m *testing.M) {
	code := motoServer.Run(m)
	registry.stop()
	os.Exit(code)
}

// lazyRegistry is the package's docker-registry, started on the first
// test that pushes to it (not in -short, like moto).
type lazyRegistry struct {
	once sync.Once
	r    *testbed.Registry
	err  error
}

func (l *lazyRegistry) get(t testing.TB) *testbed.Registry {
	t.Helper()
	testbed.SkipShort(t, "docker-registry")
	l.once.Do(func() { l.r, l.err = testbed.StartRegistry(context.Background()) })
	if l.err != nil {
		t.Fatalf("start docker-registry: %v (make test-deps installs it)", l.err)
	}
	return l.r
}

func (l *lazyRegistry) stop() {
	if l.r != nil {
		_ = l.r.Stop()
	}
}

// target is a fresh ECR repository in moto and the same repository in the
// registry, reached with the credentials ECR hands out.
type target struct {
	ecr      *ecr.Client
	registry *ecrimage.Registry
	repo     *ecrimage.Repository
	name     string
}

func newTarget(t *testing.T, create bool) *target {
	t.Helper()
	return newTargetIn(t, testbed.New(t, motoServer.Get(t)), create)
}

// newTargetIn is a target in a bed shared with others.
func newTargetIn(t *testing.T, bed *testbed.Bed, create bool) *target {
	t.Helper()
	n := seq.Add(1)
	name := fmt.Sprintf("autonote/push-%d", n)
	if create {
		if _, err := bed.ECR().CreateRepository(context.Background(), &ecr.CreateRepositoryInput{
			RepositoryName: aws.String(name), ImageTagMutability: ecrtypes.ImageTagMutabilityImmutable,
		}); err != nil {
			t.Fatal(err)
		}
	}
	// The push runs as the deploy role of a stack whose repository this
	// is: ECR's API and the registry's pushes are judged by IAM.
	scope := testbed.Service{Cluster: "c", Service: fmt.Sprintf("push-%d", n), Family: "f"}.Scope()
	scope.Repository = name
	deployer, err := bed.DeployRole(context.Background(), scope)
	if err != nil {
		t.Fatal(err)
	}
	client := deployer.ECR()
	r, err := ecrimage.Login(context.Background(), client, bed.UseRegistry(registry.get(t)))
	if err != nil {
		t.Fatal(err)
	}
	repo, err := r.Repository(name)
	if err != nil {
		t.Fatal(err)
	}
	return &target{ecr: client, registry: r, repo: repo, name: name}
}

func randomImage(t *testing.T, layers int) v1.Image {
	t.Helper()
	img, err := random.Image(64<<10, int64(layers))
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func ociLayout(t *testing.T, a imagepush.Artifact, ref string) string {
	t.Helper()
	dir := t.TempDir()
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	opt := layout.WithAnnotations(map[string]string{"org.opencontainers.image.ref.name": ref})
	switch a := a.(type) {
	case v1.ImageIndex:
		err = p.AppendIndex(a, opt)
	case v1.Image:
		err = p.AppendImage(a, opt)
	}
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

func tarDir(t *testing.T, dir string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "image.tar")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tw := tar.NewWriter(f)
	if err := tw.AddFS(os.DirFS(dir)); err != nil {
		t.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

func dockerArchive(t *testing.T, img v1.Image, ref string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "save.tar")
	tag, _ := name.NewTag(ref)
	if err := tarball.WriteToFile(path, tag, img); err != nil {
		t.Fatal(err)
	}
	return path
}

// fakeDaemon serves the one call of the Docker engine API a push makes,
// GET /images/{name}/get, on a unix socket: no Docker engine runs here.
func fakeDaemon(t *testing.T, ref string, archive string) string {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "docker.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/images/"+ref+"/get" {
			http.Error(w, `{"message":"No such image: `+strings.TrimPrefix(r.URL.Path, "/images/")+`"}`, http.StatusNotFound)
			return
		}
		f, _ := os.Open(archive)
		defer f.Close()
		io.Copy(w, f)
	})}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return "unix://" + sock
}

func TestPushSources(t *testing.T) {
	t.Parallel()
	img := randomImage(t, 3)
	idx, err := random.Index(32<<10, 2, 2)
	if err != nil {
		t.Fatal(err)
	}
	ggcr := testbed.NewInProcessRegistry(t)
	ghcrRef, err := name.ParseReference(ggcr+"/ghcr/server:abc", name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ghcrRef, img); err != nil {
		t.Fatal(err)
	}
	archive := dockerArchive(t, img, "autonote/server:abc")
	tests := []struct {
		name   string
		source func(t *testing.T) (string, imagepush.Env)
		want   imagepush.Artifact
	}{
		{"oci layout", func(t *testing.T) (string, imagepush.Env) { return "oci:" + ociLayout(t, img, "abc"), imagepush.Env{} }, img},
		{"oci layout by ref", func(t *testing.T) (string, imagepush.Env) {
			return "oci:" + ociLayout(t, img, "abc") + ":abc", imagepush.Env{}
		}, img},
		{"multi-platform index", func(t *testing.T) (string, imagepush.Env) { return "oci:" + ociLayout(t, idx, "abc"), imagepush.Env{} }, idx},
		{"oci archive", func(t *testing.T) (string, imagepush.Env) {
			return "oci-archive:" + tarDir(t, ociLayout(t, img, "abc")), imagepush.Env{TempDir: t.TempDir()}
		}, img},
		{"docker archive", func(t *testing.T) (string, imagepush.Env) { return "docker-archive:" + archive, imagepush.Env{} }, img},
		{"docker archive with ref", func(t *testing.T) (string, imagepush.Env) {
			return "docker-archive:" + archive + ":autonote/server:abc", imagepush.Env{}
		}, img},
		{"another registry", func(t *testing.T) (string, imagepush.Env) {
			return "docker://" + ggcr + "/ghcr/server:abc", imagepush.Env{}
		}, img},
		{"docker daemon", func(t *testing.T) (string, imagepush.Env) {
			return "docker-daemon:autonote/server:abc", imagepush.Env{DockerHost: fakeDaemon(t, "autonote/server:abc", archive), TempDir: t.TempDir()}
		}, img},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tg := newTarget(t, true)
			spec, env := tt.source(t)
			src, err := imagepush.Open(context.Background(), spec, env)
			if err != nil {
				t.Fatalf("Open(%s): %v", spec, err)
			}
			defer src.Close()
			res, err := imagepush.Push(context.Background(), tg.ecr, tg.repo, "abc", src.Artifact, imagepush.Options{})
			if err != nil {
				t.Fatalf("Push: %v", err)
			}
			want, _ := tt.want.Digest()
			if res.Image.Digest != want.String() {
				t.Errorf("pushed %s, want %s", res.Image.Digest, want)
			}
			got, err := tg.repo.Head(context.Background(), "abc")
			if err != nil || got.Digest != want.String() {
				t.Errorf("registry has %+v, %v; want %s", got, err, want)
			}
			if res.BlobsUploaded == 0 || res.BytesSent == 0 {
				t.Errorf("result %+v: want uploads counted", res)
			}
		})
	}
}

func TestWarmPushSendsNothing(t *testing.T) {
	t.Parallel()
	tg := newTarget(t, true)
	img := randomImage(t, 4)
	ctx := context.Background()
	cold, err := imagepush.Push(ctx, tg.ecr, tg.repo, "v1", img, imagepush.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if cold.BlobsUploaded != 5 {
		t.Errorf("cold push uploaded %d blobs, want 5 (4 layers and the config)", cold.BlobsUploaded)
	}
	again, err := imagepush.Push(ctx, tg.ecr, tg.repo, "v1", img, imagepush.Options{})
	if err != nil || !again.AlreadyThere || again.BytesSent != 0 {
		t.Errorf("same tag again: %+v, %v; want already there, nothing sent", again, err)
	}
	other, err := imagepush.Push(ctx, tg.ecr, tg.repo, "v2", img, imagepush.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if other.BlobsUploaded != 0 || other.BytesSent != 0 || other.BlobsSkipped != 5 {
		t.Errorf("new tag, same image: %+v; want 0 uploads and 5 blobs skipped", other)
	}
}

func TestPushMountsFromAnotherRepository(t *testing.T) {
	t.Parallel()
	bed := testbed.New(t, motoServer.Get(t))
	from, to := newTargetIn(t, bed, true), newTargetIn(t, bed, true)
	img := randomImage(t, 2)
	ctx := context.Background()
	if _, err := imagepush.Push(ctx, from.ecr, from.repo, "v1", img, imagepush.Options{}); err != nil {
		t.Fatal(err)
	}
	// Read with the source's credentials: each deploy role may pull from
	// its own repository alone.
	src, err := imagepush.Open(ctx, "docker://"+from.registry.Host+"/"+from.name+":v1", imagepush.Env{Keychain: from.registry})
	if err != nil {
		t.Fatal(err)
	}
	res, err := imagepush.Push(ctx, to.ecr, to.repo, "v1", src.Artifact, imagepush.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.BlobsMounted == 0 || res.BytesSent != 0 {
		t.Errorf("result %+v: want the layers mounted, nothing sent", res)
	}
}

func TestPushBadInput(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	corrupt := filepath.Join(dir, "corrupt.tar")
	if err := os.WriteFile(corrupt, []byte("this is not a tarball"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		source string
		env    imagepush.Env
		says   string
		is     error
	}{
		{"podman:thing", imagepush.Env{}, `unknown image transport "podman"`, imagepush.ErrUnknownTransport},
		{"autonote/server", imagepush.Env{}, "write TRANSPORT:REFERENCE", imagepush.ErrUnknownTransport},
		{"docker-archive:" + filepath.Join(dir, "missing.tar"), imagepush.Env{}, "no such file", fs.ErrNotExist},
		{"oci:" + filepath.Join(dir, "missing"), imagepush.Env{}, "read OCI layout", nil},
		{"docker-archive:" + corrupt, imagepush.Env{}, "read docker archive", nil},
		{"oci-archive:" + corrupt, imagepush.Env{TempDir: dir}, "unpack", nil},
		{"docker-daemon:autonote/server:abc", imagepush.Env{DockerHost: "unix://" + filepath.Join(dir, "no.sock")}, "no Docker socket at", nil},
	}
	for _, tt := range tests {
		_, err := imagepush.Open(context.Background(), tt.source, tt.env)
		if err == nil || !strings.Contains(err.Error(), tt.says) || (tt.is != nil && !errors.Is(err, tt.is)) {
			t.Errorf("Open(%s) = %v, want an error saying %q", tt.source, err, tt.says)
		}
	}
}

func TestPushRefusals(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("repository missing", func(t *testing.T) {
		t.Parallel()
		tg := newTarget(t, false)
		_, err := imagepush.Push(ctx, tg.ecr, tg.repo, "v1", randomImage(t, 1), imagepush.Options{})
		if !errors.Is(err, imagepush.ErrRepositoryNotFound) || !strings.Contains(err.Error(), tg.name) || !strings.Contains(err.Error(), "bootstrap apply") {
			t.Errorf("err = %v, want ErrRepositoryNotFound naming %s and the bootstrap", err, tg.name)
		}
	})
	t.Run("repository created on request", func(t *testing.T) {
		t.Parallel()
		tg := newTarget(t, false)
		if _, err := imagepush.Push(ctx, tg.ecr, tg.repo, "v1", randomImage(t, 1), imagepush.Options{CreateRepository: true}); err != nil {
			t.Fatal(err)
		}
		out, err := tg.ecr.DescribeRepositories(ctx, &ecr.DescribeRepositoriesInput{RepositoryNames: []string{tg.name}})
		if err != nil || out.Repositories[0].ImageTagMutability != ecrtypes.ImageTagMutabilityImmutable || !out.Repositories[0].ImageScanningConfiguration.ScanOnPush {
			t.Errorf("repository = %+v, %v; want immutable tags and scan on push", out, err)
		}
	})
	t.Run("immutable tag taken", func(t *testing.T) {
		t.Parallel()
		tg := newTarget(t, true)
		first := randomImage(t, 1)
		if _, err := imagepush.Push(ctx, tg.ecr, tg.repo, "v1", first, imagepush.Options{}); err != nil {
			t.Fatal(err)
		}
		_, err := imagepush.Push(ctx, tg.ecr, tg.repo, "v1", randomImage(t, 1), imagepush.Options{})
		if !errors.Is(err, imagepush.ErrTagTaken) || !strings.Contains(err.Error(), "nothing was overwritten") {
			t.Errorf("err = %v, want ErrTagTaken", err)
		}
		want, _ := first.Digest()
		if got, _ := tg.repo.Head(ctx, "v1"); got.Digest != want.String() {
			t.Errorf("tag now names %s, want still %s", got.Digest, want)
		}
	})
	t.Run("wrong credentials", func(t *testing.T) {
		t.Parallel()
		tg := newTarget(t, true)
		bad := &ecrimage.Registry{Host: registry.get(t).Host, Username: "AWS", Password: "not-the-token"}
		repo, _ := bad.Repository(tg.name)
		_, err := imagepush.Push(ctx, tg.ecr, repo, "v1", randomImage(t, 1), imagepush.Options{})
		if !errors.Is(err, ecrimage.ErrUnauthorized) || !strings.Contains(err.Error(), "401") {
			t.Errorf("err = %v, want ErrUnauthorized", err)
		}
	})
	t.Run("registry down mid-push", func(t *testing.T) {
		t.Parallel()
		tg := newTarget(t, true)
		down := &failAfter{next: remote.DefaultTransport}
		down.left.Store(3)
		_, err := imagepush.Push(ctx, tg.ecr, tg.repo, "v1", randomImage(t, 4), imagepush.Options{Transport: down, Jobs: 1})
		if err == nil || !strings.Contains(err.Error(), "the tag was not written") {
			t.Fatalf("err = %v, want a failed push", err)
		}
		if _, err := tg.repo.Head(ctx, "v1"); !errors.Is(err, ecrimage.ErrImageNotFound) {
			t.Errorf("after a failed push the tag exists: %v", err)
		}
	})
}

// failAfter passes some blob uploads through, then acts as a registry
// that went away: every request fails at the connection.
type failAfter struct {
	next http.RoundTripper
	left atomic.Int64
}

func (f *failAfter) RoundTrip(r *http.Request) (*http.Response, error) {
	if strings.Contains(r.URL.Path, "/blobs/uploads/") && r.Method == http.MethodPut {
		if f.left.Add(-1) < 0 {
			return nil, &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}
		}
	}
	if f.left.Load() < 0 {
		return nil, &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}
	}
	return f.next.RoundTrip(r)
}

// slow delays every registry request, so that a push lasts long enough to
// report its progress.
type slow struct{ next http.RoundTripper }

func (s slow) RoundTrip(r *http.Request) (*http.Response, error) {
	time.Sleep(15 * time.Millisecond)
	return s.next.RoundTrip(r)
}

// TestPushReportsProgress: a push longer than the progress interval hears
// how far it is, bytes and blobs growing to the whole image and never past
// it, a line at most per interval; a push shorter than it hears nothing.
func TestPushReportsProgress(t *testing.T) {
	t.Parallel()
	tg := newTarget(t, true)
	img := randomImage(t, 6)
	var mu sync.Mutex
	var got []imagepush.Progress
	start := time.Now()
	res, err := imagepush.Push(context.Background(), tg.ecr, tg.repo, "slow", img, imagepush.Options{Jobs: 1, Transport: slow{remote.DefaultTransport},
		ProgressEvery: 40 * time.Millisecond, Progress: func(p imagepush.Progress) { mu.Lock(); got = append(got, p); mu.Unlock() }})
	if err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	mu.Lock()
	defer mu.Unlock()
	if len(got) == 0 {
		t.Fatalf("a push of %v reported no progress", took)
	}
	if max := int(took/(40*time.Millisecond)) + 1; len(got) > max {
		t.Errorf("%d progress reports in %v, want at most one per interval (%d)", len(got), took, max)
	}
	for i, p := range got {
		if p.Blobs != 7 || p.Total <= 0 || p.Done > p.Total || p.BlobsDone > p.Blobs || (i > 0 && (p.Done < got[i-1].Done || p.BlobsDone < got[i-1].BlobsDone)) {
			t.Errorf("report %d = %+v (after %+v): want 7 blobs, done growing up to the total", i, p, got[max(i-1, 0)])
		}
	}
	if !strings.Contains(got[0].String(), " of ") || !strings.Contains(got[0].String(), "blobs") {
		t.Errorf("progress reads %q", got[0])
	}
	if res.BlobsUploaded != 7 {
		t.Errorf("uploaded %d blobs, want 7 (6 layers and the config)", res.BlobsUploaded)
	}

	var quick atomic.Int64
	if _, err := imagepush.Push(context.Background(), tg.ecr, tg.repo, "quick", randomImage(t, 1), imagepush.Options{ProgressEvery: time.Minute,
		Progress: func(imagepush.Progress) { quick.Add(1) }}); err != nil {
		t.Fatal(err)
	}
	if quick.Load() != 0 {
		t.Error("a push shorter than the interval reported progress")
	}
}
