package imagepush

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	ecrtypes "github.com/aws/aws-sdk-go-v2/service/ecr/types"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/autonote/deploy-action/internal/awserr"
	"github.com/autonote/deploy-action/internal/ecrimage"
)

// Errors a front end tests with errors.Is.
var (
	ErrRepositoryNotFound = errors.New("ECR repository not found")
	ErrTagTaken           = errors.New("tag already names another image")
)

// ECRAPI is the part of the ECR API a push calls.
type ECRAPI interface {
	DescribeRepositories(ctx context.Context, in *ecr.DescribeRepositoriesInput, opts ...func(*ecr.Options)) (*ecr.DescribeRepositoriesOutput, error)
	CreateRepository(ctx context.Context, in *ecr.CreateRepositoryInput, opts ...func(*ecr.Options)) (*ecr.CreateRepositoryOutput, error)
}

// Options tune a push.
type Options struct {
	// CreateRepository creates a missing repository (scan on push,
	// immutable tags) instead of failing.
	CreateRepository bool
	// Jobs is how many blobs go up at once; zero means 4, which keeps two
	// cores busy without the uploads fighting over them.
	Jobs int
	// Transport carries the registry requests; nil means remote.DefaultTransport.
	Transport http.RoundTripper
	// Progress, when set, hears how far the push is, every ProgressEvery
	// (zero means 5s) while it lasts: never for a push shorter than that.
	Progress      func(Progress)
	ProgressEvery time.Duration
}

// Progress is how far a push is: the bytes and blobs of the image that
// are in the repository now (sent, found there or mounted), of all.
type Progress struct {
	Done, Total      int64
	BlobsDone, Blobs int
	Elapsed          time.Duration
}

// String reads like "48.0 MiB of 150.0 MiB (9.6 MiB/s), 3 of 7 blobs".
func (p Progress) String() string {
	rate := ""
	if s := p.Elapsed.Seconds(); s > 0 {
		rate = fmt.Sprintf(" (%s/s)", HumanBytes(int64(float64(p.Done)/s)))
	}
	return fmt.Sprintf("%s of %s%s, %d of %d blobs", HumanBytes(p.Done), HumanBytes(p.Total), rate, p.BlobsDone, p.Blobs)
}

// HumanBytes writes n bytes as B, KiB, MiB or GiB.
func HumanBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.2f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

// Result is what a push did.
type Result struct {
	Image         ecrimage.Image
	BytesSent     int64
	BlobsUploaded int
	BlobsSkipped  int // already in the repository
	BlobsMounted  int // taken from another repository of the registry
	// AlreadyThere is true when the tag already named this very image, so
	// nothing was sent.
	AlreadyThere bool
	Duration     time.Duration
}

// Push copies src to repo:tag. The repository must exist in ECR (or
// o.CreateRepository must be set); an immutable tag that names another
// image is an error that overwrites nothing.
func Push(ctx context.Context, client ECRAPI, repo *ecrimage.Repository, tag string, src Artifact, o Options) (*Result, error) {
	start := time.Now()
	mutability, err := ensureRepository(ctx, client, repo.Name(), o.CreateRepository)
	if err != nil {
		return nil, err
	}
	digest, err := src.Digest()
	if err != nil {
		return nil, fmt.Errorf("digest of the source image: %w", err)
	}
	existing, err := repo.Head(ctx, tag)
	switch {
	case err == nil && existing.Digest == digest.String():
		return &Result{Image: existing, AlreadyThere: true, Duration: time.Since(start)}, nil
	case err == nil && mutability == ecrtypes.ImageTagMutabilityImmutable:
		return nil, fmt.Errorf("%w: %s:%s is %s, this build is %s, and the repository's tags are immutable; nothing was overwritten: push the build under another tag", ErrTagTaken, repo.Name(), tag, existing.Digest, digest)
	case err != nil && !errors.Is(err, ecrimage.ErrImageNotFound):
		return nil, err
	}

	jobs := o.Jobs
	if jobs <= 0 {
		jobs = 4
	}
	next := o.Transport
	if next == nil {
		next = remote.DefaultTransport
	}
	sizes, err := blobSizes(src)
	if err != nil {
		return nil, fmt.Errorf("read the source's manifest: %w", err)
	}
	c := &counter{next: ecrimage.HTTPSUnlessLoopback(next), sizes: sizes}
	if o.Progress != nil {
		stop := c.report(o.Progress, cmp.Or(o.ProgressEvery, 5*time.Second), start)
		defer stop()
	}
	opts := append(repo.Options(ctx), remote.WithJobs(jobs), remote.WithTransport(c))
	ref := repo.Tag(tag)
	switch a := src.(type) {
	case v1.ImageIndex:
		err = remote.WriteIndex(ref, a, opts...)
	case v1.Image:
		err = remote.Write(ref, a, opts...)
	default:
		err = fmt.Errorf("source is neither an image nor an index")
	}
	if err != nil {
		return nil, fmt.Errorf("%w (the tag was not written: the manifest goes last)", ecrimage.Explain("push "+ref.String(), err))
	}
	return &Result{
		Image:         ecrimage.Image{Registry: ref.RegistryStr(), Repository: repo.Name(), Tag: tag, Digest: digest.String()},
		BytesSent:     c.sent.Load(),
		BlobsUploaded: int(c.uploaded.Load()),
		BlobsSkipped:  int(c.skipped.Load()),
		BlobsMounted:  int(c.mounted.Load()),
		Duration:      time.Since(start),
	}, nil
}

func ensureRepository(ctx context.Context, client ECRAPI, name string, create bool) (ecrtypes.ImageTagMutability, error) {
	out, err := client.DescribeRepositories(ctx, &ecr.DescribeRepositoriesInput{RepositoryNames: []string{name}})
	var nf *ecrtypes.RepositoryNotFoundException
	switch {
	case err == nil && len(out.Repositories) == 1:
		return out.Repositories[0].ImageTagMutability, nil
	case awserr.AccessDenied(err):
		// A deploy role is scoped to its stack's repository: IAM answers
		// a name it does not hold before ECR could say it does not exist.
		return "", fmt.Errorf("describe ECR repository %s: %w (these credentials may use no repository of that name: a deploy role made by the bootstrap is allowed its stack's repository alone; check the repository's name, or make it with `bootstrap apply`)", name, err)
	case err != nil && !errors.As(err, &nf):
		return "", fmt.Errorf("describe ECR repository %s: %w", name, err)
	case !create:
		return "", fmt.Errorf("%w: %s does not exist in this account and region: create the baseline with `bootstrap apply`, or set create-repository: true", ErrRepositoryNotFound, name)
	}
	cr, err := client.CreateRepository(ctx, &ecr.CreateRepositoryInput{
		RepositoryName:             aws.String(name),
		ImageTagMutability:         ecrtypes.ImageTagMutabilityImmutable,
		ImageScanningConfiguration: &ecrtypes.ImageScanningConfiguration{ScanOnPush: true},
		Tags:                       []ecrtypes.Tag{{Key: aws.String("managed-by"), Value: aws.String("deploy-action")}},
	})
	if err != nil {
		return "", fmt.Errorf("create ECR repository %s: %w", name, err)
	}
	return cr.Repository.ImageTagMutability, nil
}

// counter counts what goes to the registry: bytes of the blobs uploaded,
// blobs uploaded, blobs found already there, blobs mounted from another
// repository. It only looks at requests and answers: wrapping the bodies
// would cost the transport its zero-copy path.
type counter struct {
	next                       http.RoundTripper
	sizes                      map[string]int64 // blob digest -> size
	sent                       atomic.Int64
	uploaded, skipped, mounted atomic.Int64
	done                       atomic.Int64 // bytes of the blobs in the repository, however they got there
}

// report calls progress every interval until the returned stop is called.
func (c *counter) report(progress func(Progress), every time.Duration, start time.Time) (stop func()) {
	var total int64
	for _, n := range c.sizes {
		total += n
	}
	quit, finished := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-quit:
				return
			case <-t.C:
				blobs := c.uploaded.Load() + c.skipped.Load() + c.mounted.Load()
				progress(Progress{Done: min(c.done.Load(), total), Total: total, BlobsDone: int(min(blobs, int64(len(c.sizes)))), Blobs: len(c.sizes), Elapsed: time.Since(start)})
			}
		}
	}()
	return func() { close(quit); <-finished }
}

func (c *counter) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := c.next.RoundTrip(req)
	if err != nil {
		return resp, err
	}
	upload := strings.Contains(req.URL.Path, "/blobs/uploads/")
	switch {
	case req.Method == http.MethodHead && strings.Contains(req.URL.Path, "/blobs/sha256:") && resp.StatusCode == http.StatusOK:
		c.skipped.Add(1)
		c.done.Add(c.sizes[req.URL.Path[strings.LastIndex(req.URL.Path, "/")+1:]])
	case req.Method == http.MethodPost && upload && req.URL.Query().Get("mount") != "" && resp.StatusCode == http.StatusCreated:
		c.mounted.Add(1)
		c.done.Add(c.sizes[req.URL.Query().Get("mount")])
	case req.Method == http.MethodPut && upload && resp.StatusCode == http.StatusCreated:
		c.uploaded.Add(1)
		n := c.sizes[req.URL.Query().Get("digest")]
		c.sent.Add(n)
		c.done.Add(n)
	}
	return resp, nil
}

// blobSizes maps every blob of an image or index (configs and layers) to
// its size.
func blobSizes(a Artifact) (map[string]int64, error) {
	sizes := map[string]int64{}
	var walk func(a Artifact) error
	walk = func(a Artifact) error {
		switch a := a.(type) {
		case v1.ImageIndex:
			m, err := a.IndexManifest()
			if err != nil {
				return err
			}
			for _, d := range m.Manifests {
				var child Artifact
				if d.MediaType.IsIndex() {
					child, err = a.ImageIndex(d.Digest)
				} else {
					child, err = a.Image(d.Digest)
				}
				if err != nil {
					return err
				}
				if err := walk(child); err != nil {
					return err
				}
			}
		case v1.Image:
			m, err := a.Manifest()
			if err != nil {
				return err
			}
			sizes[m.Config.Digest.String()] = m.Config.Size
			for _, l := range m.Layers {
				sizes[l.Digest.String()] = l.Size
			}
		}
		return nil
	}
	return sizes, walk(a)
}
