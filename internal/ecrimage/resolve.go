package ecrimage

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// CheckSHA says whether sha is a commit SHA or a prefix of one that is long
// enough to name a build: 7 to 40 hexadecimal characters.
func CheckSHA(sha string) error {
	if len(sha) < 7 || len(sha) > 40 || strings.Trim(strings.ToLower(sha), "0123456789abcdef") != "" {
		return fmt.Errorf("%w %q: give the commit SHA of a build, or a unique prefix of at least 7 hex characters", ErrInvalidSHA, sha)
	}
	return nil
}

// Find returns the image tagged with the commit sha, or with the one tag that
// starts with the prefix sha. An unknown or ambiguous sha is an error that
// names the nearest tags.
func (r *Repository) Find(ctx context.Context, sha string) (Image, error) {
	if err := CheckSHA(sha); err != nil {
		return Image{}, err
	}
	sha = strings.ToLower(sha)
	if len(sha) == 40 {
		img, err := r.Head(ctx, sha)
		if err == nil {
			return img, nil
		}
		if !errors.Is(err, ErrImageNotFound) {
			return Image{}, err
		}
	}
	tags, err := r.Tags(ctx)
	if err != nil {
		return Image{}, err
	}
	var matches []string
	for _, t := range tags {
		if strings.HasPrefix(strings.ToLower(t), sha) {
			matches = append(matches, t)
		}
	}
	switch len(matches) {
	case 1:
		return r.Head(ctx, matches[0])
	case 0:
		near := nearest(tags, sha, 3)
		if len(near) == 0 {
			return Image{}, fmt.Errorf("%w: no image in %s is tagged %s; the repository has no tags: push the build first", ErrImageNotFound, r.repo, sha)
		}
		return Image{}, fmt.Errorf("%w: no image in %s is tagged %s (nearest tags: %s): check the SHA of the build to return to", ErrImageNotFound, r.repo, sha, strings.Join(near, ", "))
	default:
		slices.Sort(matches)
		return Image{}, fmt.Errorf("%w: %s matches %d tags in %s (%s): give more characters", ErrAmbiguousSHA, sha, len(matches), r.repo, strings.Join(matches[:min(len(matches), 5)], ", "))
	}
}

// Resolve is Find as ecsdeploy.Resolver wants it: the image URI.
func (r *Repository) Resolve(ctx context.Context, sha string) (string, error) {
	img, err := r.Find(ctx, sha)
	if err != nil {
		return "", err
	}
	return img.URI(), nil
}

// nearest returns up to n tags that share the longest prefix with sha.
func nearest(tags []string, sha string, n int) []string {
	type scored struct {
		tag   string
		score int
	}
	var s []scored
	for _, t := range tags {
		k := 0
		for k < len(t) && k < len(sha) && t[k] == sha[k] {
			k++
		}
		s = append(s, scored{t, k})
	}
	slices.SortFunc(s, func(a, b scored) int {
		return cmp.Or(cmp.Compare(b.score, a.score), cmp.Compare(a.tag, b.tag))
	})
	var out []string
	for _, x := range s[:min(len(s), n)] {
		out = append(out, x.tag)
	}
	return out
}
