package bench

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"

	"github.com/autonote/deploy-action/internal/ecrimage"
	"github.com/autonote/deploy-action/internal/imagepush"
	"github.com/autonote/deploy-action/internal/testbed"
)

// writeLayout writes a synthetic OCI layout of layers blobs of size bytes
// each, streamed from a seeded generator, so neither this process nor the
// pushers hold an image in memory.
func writeLayout(dir string, layers int, size int64, seed uint64) error {
	blobs := filepath.Join(dir, "blobs", "sha256")
	if err := os.MkdirAll(blobs, 0o755); err != nil {
		return err
	}
	writeBlob := func(r io.Reader) (string, int64, error) {
		tmp, err := os.CreateTemp(blobs, "tmp-")
		if err != nil {
			return "", 0, err
		}
		h := sha256.New()
		n, err := io.Copy(io.MultiWriter(tmp, h), r)
		if cerr := tmp.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return "", 0, err
		}
		sum := hex.EncodeToString(h.Sum(nil))
		return "sha256:" + sum, n, os.Rename(tmp.Name(), filepath.Join(blobs, sum))
	}
	type desc struct {
		MediaType string `json:"mediaType"`
		Digest    string `json:"digest"`
		Size      int64  `json:"size"`
	}
	var layerDescs []desc
	var diffIDs []string
	for i := range layers {
		rng := rand.NewChaCha8([32]byte{byte(seed), byte(i)})
		d, n, err := writeBlob(io.LimitReader(rng, size))
		if err != nil {
			return err
		}
		layerDescs = append(layerDescs, desc{"application/vnd.oci.image.layer.v1.tar", d, n})
		diffIDs = append(diffIDs, d)
	}
	config, _ := json.Marshal(map[string]any{
		"architecture": "amd64", "os": "linux",
		"rootfs": map[string]any{"type": "layers", "diff_ids": diffIDs},
		"config": map[string]any{"Labels": map[string]string{"seed": strconv.FormatUint(seed, 10)}},
	})
	cd, cn, err := writeBlob(bytesReader(config))
	if err != nil {
		return err
	}
	manifest, _ := json.Marshal(map[string]any{
		"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
		"config": desc{"application/vnd.oci.image.config.v1+json", cd, cn}, "layers": layerDescs,
	})
	md, mn, err := writeBlob(bytesReader(manifest))
	if err != nil {
		return err
	}
	index, _ := json.Marshal(map[string]any{"schemaVersion": 2, "manifests": []desc{{"application/vnd.oci.image.manifest.v1+json", md, mn}}})
	if err := os.WriteFile(filepath.Join(dir, "index.json"), index, 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "oci-layout"), []byte(`{"imageLayoutVersion":"1.0.0"}`), 0o644)
}

type byteReader struct {
	b []byte
	i int
}

func (r *byteReader) Read(p []byte) (int, error) {
	if r.i >= len(r.b) {
		return 0, io.EOF
	}
	n := copy(p, r.b[r.i:])
	r.i += n
	return n, nil
}

func bytesReader(b []byte) io.Reader { return &byteReader{b: b} }

// TestMain stops what the benchmarks started and removes their images.
func TestMain(m *testing.M) {
	if layout := os.Getenv("BENCH_HELPER_PUSH"); layout != "" {
		if err := helperPush(layout); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	code := m.Run()
	if pb != nil {
		_ = pb.reg.Stop()
		pb.bed.Close()
		os.RemoveAll(filepath.Dir(pb.layout))
	}
	if moto != nil {
		_ = moto.Stop()
	}
	os.Exit(code)
}

// pushBed is a registry, moto for ECR, and the image, shared by the push
// benchmarks.
type pushBed struct {
	reg    *testbed.Registry
	bed    *testbed.Bed
	layout string
	big    string
	n      int
}

var (
	pushOnce sync.Once
	pb       *pushBed
	pbErr    error
)

func pushSetup(b *testing.B) *pushBed {
	b.Helper()
	pushOnce.Do(func() {
		motoOnce.Do(func() { moto, motoErr = testbed.StartMoto(context.Background()) })
		if pbErr = motoErr; pbErr != nil {
			return
		}
		pb = &pushBed{}
		if pb.reg, pbErr = testbed.StartRegistry(context.Background()); pbErr != nil {
			return
		}
		if pb.bed, pbErr = testbed.Start(moto); pbErr != nil {
			return
		}
		dir, err := os.MkdirTemp("", "bench-push-")
		if pbErr = err; err != nil {
			return
		}
		// moto answers its first ECR call slowly; that is no cost of a push.
		if _, pbErr = pb.bed.ECR().DescribeRepositories(context.Background(), &ecr.DescribeRepositoriesInput{}); pbErr != nil {
			return
		}
		pb.layout = filepath.Join(dir, "image")
		pbErr = writeLayout(pb.layout, 6, 25<<20, 1) // 150 MiB in 6 layers
	})
	if pbErr != nil {
		b.Fatal(pbErr)
	}
	return pb
}

// repo makes a fresh ECR repository, so each cold push starts from nothing.
// Its time is not counted: moto is no measure of ECR.
func (p *pushBed) repo(b *testing.B) string {
	b.StopTimer()
	defer b.StartTimer()
	p.n++
	name := fmt.Sprintf("bench/push-%d-%d", time.Now().UnixNano(), p.n)
	if _, err := p.bed.ECR().CreateRepository(context.Background(), &ecr.CreateRepositoryInput{RepositoryName: aws.String(name)}); err != nil {
		b.Fatal(err)
	}
	return name
}

func (p *pushBed) push(b *testing.B, layout, repoName, tag string) *imagepush.Result {
	ctx := context.Background()
	r := &ecrimage.Registry{Host: p.reg.Host, Username: "AWS", Password: testbed.ECRPassword}
	repo, err := r.Repository(repoName)
	if err != nil {
		b.Fatal(err)
	}
	src, err := imagepush.Open(ctx, "oci:"+layout, imagepush.Env{})
	if err != nil {
		b.Fatal(err)
	}
	defer src.Close()
	res, err := imagepush.Push(ctx, p.bed.ECR(), repo, tag, src.Artifact, imagepush.Options{})
	if err != nil {
		b.Fatal(err)
	}
	return res
}

// BenchmarkPushCold: a 150 MiB, 6-layer image into an empty repository, by
// deploy-action, crane (go-containerregistry at go.mod's version, built by
// bench/run.sh) and skopeo (Debian), in one run.
func BenchmarkPushCold(b *testing.B) {
	p := pushSetup(b)
	b.Run("deploy-action", func(b *testing.B) {
		b.SetBytes(150 << 20)
		for b.Loop() {
			res := p.push(b, p.layout, p.repo(b), "cold")
			if res.BlobsUploaded != 7 {
				b.Fatalf("uploaded %d blobs, want 7", res.BlobsUploaded)
			}
		}
	})
	b.Run("crane", func(b *testing.B) {
		crane := peer(b, "CRANE", "crane")
		cfg := dockerConfig(b, p.reg.Host)
		b.SetBytes(150 << 20)
		for b.Loop() {
			cmd := exec.Command(crane, "push", "--insecure", p.layout, p.reg.Host+"/"+p.repo(b)+":cold")
			cmd.Env = append(os.Environ(), "DOCKER_CONFIG="+cfg)
			if out, err := cmd.CombinedOutput(); err != nil {
				b.Fatalf("crane push: %v\n%s", err, out)
			}
		}
	})
	b.Run("skopeo", func(b *testing.B) {
		skopeo := peer(b, "SKOPEO", "skopeo")
		b.SetBytes(150 << 20)
		for b.Loop() {
			cmd := exec.Command(skopeo, "copy", "--quiet", "--dest-tls-verify=false", "--dest-creds", "AWS:"+testbed.ECRPassword,
				"oci:"+p.layout, "docker://"+p.reg.Host+"/"+p.repo(b)+":cold")
			if out, err := cmd.CombinedOutput(); err != nil {
				b.Fatalf("skopeo copy: %v\n%s", err, out)
			}
		}
	})
}

// BenchmarkPushWarm: the same image again under a new tag: every blob is
// there, so only HEADs and a manifest go out.
func BenchmarkPushWarm(b *testing.B) {
	p := pushSetup(b)
	name := p.repo(b)
	p.push(b, p.layout, name, "cold")
	i := 0
	for b.Loop() {
		i++
		res := p.push(b, p.layout, name, fmt.Sprintf("warm-%d", i))
		if res.BlobsUploaded != 0 || res.BytesSent != 0 {
			b.Fatalf("warm push uploaded %d blobs, %d bytes", res.BlobsUploaded, res.BytesSent)
		}
	}
}

// BenchmarkPushPeakRSS pushes a 1 GiB image in a child process and reports
// that process's peak resident memory, next to crane's for the same image.
func BenchmarkPushPeakRSS(b *testing.B) {
	p := pushSetup(b)
	if p.big == "" {
		p.big = filepath.Join(filepath.Dir(p.layout), "big")
		if err := writeLayout(p.big, 8, 128<<20, 2); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("deploy-action", func(b *testing.B) {
		var peak int64
		for b.Loop() {
			cmd := exec.Command(os.Args[0])
			cmd.Env = append(os.Environ(), "BENCH_HELPER_PUSH="+p.big, "BENCH_HELPER_REGISTRY="+p.reg.Host,
				"BENCH_HELPER_REPO="+p.repo(b), "BENCH_HELPER_MOTO="+moto.URL)
			if out, err := cmd.CombinedOutput(); err != nil {
				b.Fatalf("helper push: %v\n%s", err, out)
			}
			peak = max(peak, cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss)
		}
		b.ReportMetric(float64(peak)/1024, "MiB-peak-RSS")
	})
	b.Run("crane", func(b *testing.B) {
		crane := peer(b, "CRANE", "crane")
		cfg := dockerConfig(b, p.reg.Host)
		var peak int64
		for b.Loop() {
			cmd := exec.Command(crane, "push", "--insecure", p.big, p.reg.Host+"/"+p.repo(b)+":big")
			cmd.Env = append(os.Environ(), "DOCKER_CONFIG="+cfg)
			if out, err := cmd.CombinedOutput(); err != nil {
				b.Fatalf("crane push: %v\n%s", err, out)
			}
			peak = max(peak, cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss)
		}
		b.ReportMetric(float64(peak)/1024, "MiB-peak-RSS")
	})
}

// helperPush is the child process of BenchmarkPushPeakRSS: the benchmark
// binary run again with BENCH_HELPER_PUSH naming the layout to push.
func helperPush(layout string) error {
	ctx := context.Background()
	bed := &testbed.Bed{Moto: &testbed.Moto{URL: os.Getenv("BENCH_HELPER_MOTO")}}
	r := &ecrimage.Registry{Host: os.Getenv("BENCH_HELPER_REGISTRY"), Username: "AWS", Password: testbed.ECRPassword}
	repo, err := r.Repository(os.Getenv("BENCH_HELPER_REPO"))
	if err != nil {
		return err
	}
	src, err := imagepush.Open(ctx, "oci:"+layout, imagepush.Env{})
	if err != nil {
		return err
	}
	_, err = imagepush.Push(ctx, bed.ECR(), repo, "big", src.Artifact, imagepush.Options{})
	return err
}

func peer(b *testing.B, env, bin string) string {
	if p := os.Getenv(env); p != "" {
		return p
	}
	p, err := exec.LookPath(bin)
	if err != nil {
		b.Skipf("%s not found: bench/run.sh builds crane and apt-get installs skopeo", bin)
	}
	return p
}

func dockerConfig(b *testing.B, host string) string {
	dir := b.TempDir()
	auth := base64.StdEncoding.EncodeToString([]byte("AWS:" + testbed.ECRPassword))
	cfg := fmt.Sprintf(`{"auths":{%q:{"auth":%q}}}`, host, auth)
	if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(cfg), 0o600); err != nil {
		b.Fatal(err)
	}
	return dir
}
