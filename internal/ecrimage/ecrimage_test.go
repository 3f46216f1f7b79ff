package ecrimage_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/autonote/deploy-action/internal/ecrimage"
	"github.com/autonote/deploy-action/internal/testbed"
)

var motoServer testbed.LazyMoto

func TestMain(m *testing.M) { os.Exit(motoServer.Run(m)) }

func TestLogin(t *testing.T) {
	t.Parallel()
	bed := testbed.New(t, motoServer.Get(t))
	ctx := context.Background()

	reg, err := ecrimage.Login(ctx, bed.ECR(), "")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := reg.Host, "123456789012.dkr.ecr.us-east-1.amazonaws.com"; got != want {
		t.Errorf("host = %q, want the registry ECR reports, %q", got, want)
	}
	// ECR's token is the caller's own: the test bed's judge hands each
	// principal a password of its own, and judges its pushes and pulls.
	password := reg.Password.Reveal()
	if reg.Username != "AWS" || !strings.HasPrefix(password, "ecr-") {
		t.Errorf("credentials = %q/%q, want AWS and the token ECR handed out", reg.Username, password)
	}

	var logged strings.Builder
	slog.New(slog.NewTextHandler(&logged, nil)).Info("login", "registry", reg, "password", reg.Password)
	fmt.Fprintf(&logged, "%v %+v %s", reg, reg, reg.Password)
	if strings.Contains(logged.String(), password) {
		t.Errorf("password printed: %s", logged.String())
	}

	over, err := ecrimage.Login(ctx, bed.ECR(), bed.Registry)
	if err != nil {
		t.Fatal(err)
	}
	if over.Host != bed.Registry {
		t.Errorf("host = %q, want the override %q", over.Host, bed.Registry)
	}
}

func TestHeadNeedsECRCredentials(t *testing.T) {
	t.Parallel()
	bed := testbed.New(t, motoServer.Get(t))
	ctx := context.Background()
	digest, err := bed.PushRandomImage(ctx, "autonote/server", "v1")
	if err != nil {
		t.Fatal(err)
	}
	good := &ecrimage.Registry{Host: bed.Registry, Username: "AWS", Password: testbed.ECRPassword}
	bad := &ecrimage.Registry{Host: bed.Registry, Username: "AWS", Password: "wrong"}

	repo, _ := good.Repository("autonote/server")
	img, err := repo.Head(ctx, "v1")
	if err != nil || img.Digest != digest || img.URI() != bed.Registry+"/autonote/server:v1" {
		t.Errorf("Head = %+v, %v; want digest %s", img, err, digest)
	}
	if _, err := repo.Head(ctx, "v2"); !errors.Is(err, ecrimage.ErrImageNotFound) {
		t.Errorf("Head(missing) = %v, want ErrImageNotFound", err)
	}
	badRepo, _ := bad.Repository("autonote/server")
	if _, err := badRepo.Head(ctx, "v1"); !errors.Is(err, ecrimage.ErrUnauthorized) {
		t.Errorf("Head with a wrong password = %v, want an authentication error", err)
	}
}

func TestCheckSHA(t *testing.T) {
	t.Parallel()
	tests := []struct {
		sha string
		ok  bool
	}{
		{"1234567", true},
		{"ABCDEF0123", true},
		{strings.Repeat("a", 40), true},
		{"123456", false},
		{strings.Repeat("a", 41), false},
		{"12345g7", false},
		{"", false},
		{"v1.2.3-beta", false},
	}
	for _, tt := range tests {
		err := ecrimage.CheckSHA(tt.sha)
		if got := err == nil; got != tt.ok {
			t.Errorf("CheckSHA(%q) = %v, want ok=%v", tt.sha, err, tt.ok)
		}
		if err != nil && !errors.Is(err, ecrimage.ErrInvalidSHA) {
			t.Errorf("CheckSHA(%q) = %v, want ErrInvalidSHA", tt.sha, err)
		}
	}
}

// recorder answers every request itself and remembers it: no connection leaves the process.
type recorder struct{ urls []string }

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	r.urls = append(r.urls, req.URL.String())
	return &http.Response{StatusCode: http.StatusOK, Body: http.NoBody, Request: req}, nil
}

func TestHTTPSUnlessLoopback(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		url  string
		sent bool
	}{
		{"http://10.0.0.5:5000/v2/", false}, // go-containerregistry's own choice for RFC 1918
		{"http://registry.localhost/v2/", false},
		{"http://mirror.example.com/v2/", false},
		{"https://10.0.0.5:5000/v2/", true},
		{"https://123456789012.dkr.ecr.us-east-1.amazonaws.com/v2/", true},
		{"http://127.0.0.1:5000/v2/", true},
		{"http://[::1]:5000/v2/", true},
		{"http://localhost:5000/v2/", true},
	} {
		rec := &recorder{}
		req, _ := http.NewRequest(http.MethodGet, tt.url, nil)
		_, err := ecrimage.HTTPSUnlessLoopback(rec).RoundTrip(req)
		if sent := len(rec.urls) == 1; sent != tt.sent || (err != nil) == tt.sent {
			t.Errorf("%s: sent %v, err %v; want sent %v", tt.url, sent, err, tt.sent)
		}
		if err != nil && !errors.Is(err, ecrimage.ErrPlainHTTP) {
			t.Errorf("%s: %v, want ErrPlainHTTP", tt.url, err)
		}
	}
}
