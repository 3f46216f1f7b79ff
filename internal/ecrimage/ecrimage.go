// Package ecrimage finds and checks images in an ECR repository through the
// registry API, with the credentials ECR hands out. Real ECR serves the same
// API as the registries in the test bed, so the same code runs against both.
package ecrimage

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// Errors a front end tests with errors.Is.
var (
	ErrImageNotFound = errors.New("image not found")
	ErrAmbiguousSHA  = errors.New("sha prefix is ambiguous")
	ErrInvalidSHA    = errors.New("invalid sha")
	ErrUnauthorized  = errors.New("registry refused the credentials")
	// ErrPlainHTTP: a registry off the loopback interface reached without TLS.
	ErrPlainHTTP = errors.New("plain HTTP to a registry off the loopback interface refused")
)

// ECRAPI is the part of the ECR API this package calls.
type ECRAPI interface {
	GetAuthorizationToken(ctx context.Context, in *ecr.GetAuthorizationTokenInput, opts ...func(*ecr.Options)) (*ecr.GetAuthorizationTokenOutput, error)
}

// Secret is a value that never prints: it redacts itself in fmt and slog.
type Secret string

func (Secret) String() string       { return "[redacted]" }
func (Secret) GoString() string     { return "[redacted]" }
func (Secret) LogValue() slog.Value { return slog.StringValue("[redacted]") }

// Reveal returns the value itself, for the one place that must send it.
func (s Secret) Reveal() string { return string(s) }

// Registry is a registry host and the credentials to use it.
type Registry struct {
	// ECRHost is the registry ECR reports; Host differs from it when the
	// caller named another (a mirror, a local test registry).
	ECRHost  string
	Host     string
	Username string
	Password Secret
}

// Login asks ECR for a registry token. The registry is the one ECR reports,
// unless host names another (a mirror, or a registry in the test bed).
func Login(ctx context.Context, client ECRAPI, host string) (*Registry, error) {
	out, err := client.GetAuthorizationToken(ctx, &ecr.GetAuthorizationTokenInput{})
	if err != nil {
		return nil, fmt.Errorf("get ECR authorization token: %w", err)
	}
	if len(out.AuthorizationData) == 0 {
		return nil, fmt.Errorf("get ECR authorization token: ECR returned no authorization data")
	}
	data := out.AuthorizationData[0]
	raw, err := base64.StdEncoding.DecodeString(aws.ToString(data.AuthorizationToken))
	if err != nil {
		return nil, fmt.Errorf("decode ECR authorization token: %w", err)
	}
	user, pass, ok := strings.Cut(string(raw), ":")
	if !ok {
		return nil, fmt.Errorf("decode ECR authorization token: no user:password in it")
	}
	u, err := url.Parse(aws.ToString(data.ProxyEndpoint))
	if host == "" {
		if err != nil || u.Host == "" {
			return nil, fmt.Errorf("ECR reported registry %q, which is not a URL", aws.ToString(data.ProxyEndpoint))
		}
		host = u.Host
	}
	reg := &Registry{Host: host, Username: user, Password: Secret(pass)}
	if err == nil {
		reg.ECRHost = u.Host
	}
	return reg, nil
}

// Image is one tagged image.
type Image struct {
	Registry, Repository, Tag, Digest string
}

// URI is registry/repository:tag.
func (i Image) URI() string { return i.Registry + "/" + i.Repository + ":" + i.Tag }

// Repository is one repository of a registry.
type Repository struct {
	reg  *Registry
	repo name.Repository
	opts []remote.Option
}

// Repository returns the named repository, reached over plain HTTP only when
// the registry is on the loopback interface.
func (r *Registry) Repository(repository string) (*Repository, error) {
	var opts []name.Option
	if IsLoopback(r.Host) {
		opts = append(opts, name.Insecure)
	}
	repo, err := name.NewRepository(r.Host+"/"+repository, opts...)
	if err != nil {
		return nil, fmt.Errorf("repository %q: %w", repository, err)
	}
	return &Repository{reg: r, repo: repo, opts: []remote.Option{
		remote.WithAuth(&authn.Basic{Username: r.Username, Password: r.Password.Reveal()}),
		remote.WithTransport(HTTPSUnlessLoopback(remote.DefaultTransport)),
	}}, nil
}

// Name is the repository path, such as autonote/server.
func (r *Repository) Name() string { return r.repo.RepositoryStr() }

// Tag is the reference repository:tag.
func (r *Repository) Tag(tag string) name.Tag { return r.repo.Tag(tag) }

// Options are the remote options that reach the repository with its credentials.
func (r *Repository) Options(ctx context.Context) []remote.Option {
	return append([]remote.Option{remote.WithContext(ctx)}, r.opts...)
}

// Head checks that tag exists and returns its image.
func (r *Repository) Head(ctx context.Context, tag string) (Image, error) {
	ref := r.repo.Tag(tag)
	desc, err := remote.Head(ref, r.Options(ctx)...)
	if isNotFound(err) {
		return Image{}, fmt.Errorf("%w: %s has no tag %q", ErrImageNotFound, r.repo, tag)
	}
	if err != nil {
		return Image{}, Explain("check image "+ref.String(), err)
	}
	return Image{Registry: r.reg.Host, Repository: r.Name(), Tag: tag, Digest: desc.Digest.String()}, nil
}

// Tags lists the repository's tags.
func (r *Repository) Tags(ctx context.Context) ([]string, error) {
	tags, err := remote.List(r.repo, r.Options(ctx)...)
	if isNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, Explain("list tags of "+r.repo.String(), err)
	}
	return tags, nil
}

// Explain wraps a registry error of op; a refusal of the credentials
// becomes ErrUnauthorized with what to check.
func Explain(op string, err error) error {
	var te *transport.Error
	if errors.As(err, &te) && (te.StatusCode == http.StatusUnauthorized || te.StatusCode == http.StatusForbidden) {
		return fmt.Errorf("%s: %w (%d %s): the ECR token is valid for one account and region only: check aws-region and registry, and that the role may call ecr:GetAuthorizationToken and push to the repository", op, ErrUnauthorized, te.StatusCode, http.StatusText(te.StatusCode))
	}
	return fmt.Errorf("%s: %w", op, err)
}

func isNotFound(err error) bool {
	var te *transport.Error
	return errors.As(err, &te) && te.StatusCode == http.StatusNotFound
}

// HTTPSUnlessLoopback refuses every plain-HTTP request to a host off the
// loopback interface, whatever go-containerregistry chose (it picks HTTP by
// itself for RFC 1918 addresses and *.localhost): the registry password
// never crosses a network in clear text.
func HTTPSUnlessLoopback(next http.RoundTripper) http.RoundTripper {
	return httpsOnly{next}
}

type httpsOnly struct{ next http.RoundTripper }

func (t httpsOnly) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Scheme != "https" && !IsLoopback(req.URL.Host) {
		return nil, fmt.Errorf("%w: %s://%s (use https, or a registry on 127.0.0.1)", ErrPlainHTTP, req.URL.Scheme, req.URL.Host)
	}
	return t.next.RoundTrip(req)
}

// IsLoopback reports whether a registry host is on the loopback interface,
// the only place plain HTTP is allowed.
func IsLoopback(host string) bool {
	h := host
	if hh, _, err := net.SplitHostPort(host); err == nil {
		h = hh
	}
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// Resolve makes the registry a keychain that answers for its own host, so
// a source in the same registry is read with the same credentials.
func (r *Registry) Resolve(res authn.Resource) (authn.Authenticator, error) {
	if res.RegistryStr() == r.Host {
		return &authn.Basic{Username: r.Username, Password: r.Password.Reveal()}, nil
	}
	return authn.Anonymous, nil
}
