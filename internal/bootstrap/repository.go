package bootstrap

import (
	"context"
	"errors"
	"fmt"
	"slices"

	ecrtypes "github.com/aws/aws-sdk-go-v2/service/ecr/types"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
)

// repository is the ECR repository of the app's images: the one the
// running task definition pulls from, else the config's.
type repository struct {
	s    *Stack
	name string
	// To do on ours.
	scanOff, mutable, noLifecycle bool
}

func (r *repository) describe() (string, string) { return "ECR repository", r.repoName() }
func (r *repository) stage() int                 { return 1 }

func (r *repository) repoName() string {
	if r.s.found == nil {
		return r.s.cfg.ECRRepository
	}
	if c := r.s.found.container; c != nil {
		if n := repositoryOf(aws.ToString(c.Image)); n != "" {
			return n
		}
	}
	return r.s.cfg.ECRRepository
}

func (r *repository) lifecycle() string {
	n := r.s.cfg.KeepImages
	return fmt.Sprintf(`{"rules":[{"rulePriority":1,"description":"keep the newest %d images","selection":{"tagStatus":"any","countType":"imageCountMoreThan","countNumber":%d},"action":{"type":"expire"}}]}`, n, n)
}

func (r *repository) find(ctx context.Context) (found, error) {
	s := r.s
	r.name = r.repoName()
	seen, err := r.read(ctx)
	if err != nil || seen == nil {
		return found{}, err
	}
	s.set(func(o *Outputs) { o.RepositoryURI, o.RepositoryARN = seen.uri, seen.arn })
	v := judgeRepository(*seen, repositoryWant{name: r.name, stack: s.cfg.Name, lifecycle: r.lifecycle(), keep: s.cfg.KeepImages,
		managed: slices.Contains(s.cfg.Manage, "repository")})
	r.scanOff, r.mutable, r.noLifecycle = v.scanOff, v.mutable, v.noLifecycle
	return v.found, nil
}

// repositorySeen is the repository as ECR has it.
type repositorySeen struct {
	uri, arn        string
	tags            map[string]string
	scanOnPush      bool
	immutable       bool
	lifecycle       string // "" for none
	lifecycleAbsent bool
}

// read describes the repository, its tags and its lifecycle policy: nil
// when there is no repository of that name.
func (r *repository) read(ctx context.Context) (*repositorySeen, error) {
	ecrc := r.s.c.ECR
	out, err := ecrc.DescribeRepositories(ctx, &ecr.DescribeRepositoriesInput{RepositoryNames: []string{r.name}})
	var nf *ecrtypes.RepositoryNotFoundException
	if errors.As(err, &nf) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("describe repository %s: %w", r.name, err)
	}
	repo := out.Repositories[0]
	seen := &repositorySeen{uri: aws.ToString(repo.RepositoryUri), arn: aws.ToString(repo.RepositoryArn),
		scanOnPush: repo.ImageScanningConfiguration != nil && repo.ImageScanningConfiguration.ScanOnPush,
		immutable:  repo.ImageTagMutability == ecrtypes.ImageTagMutabilityImmutable}
	tags, err := ecrc.ListTagsForResource(ctx, &ecr.ListTagsForResourceInput{ResourceArn: repo.RepositoryArn})
	if err != nil {
		return nil, fmt.Errorf("list tags of %s: %w", r.name, err)
	}
	seen.tags = ecrTag.of(tags.Tags)
	lp, err := ecrc.GetLifecyclePolicy(ctx, &ecr.GetLifecyclePolicyInput{RepositoryName: aws.String(r.name)})
	var lnf *ecrtypes.LifecyclePolicyNotFoundException
	switch {
	case errors.As(err, &lnf):
		seen.lifecycleAbsent = true
	case err != nil:
		return nil, fmt.Errorf("get lifecycle policy of %s: %w", r.name, err)
	default:
		seen.lifecycle = aws.ToString(lp.LifecyclePolicyText)
	}
	return seen, nil
}

// repositoryWant is what the config asks of the repository.
type repositoryWant struct {
	name, stack, lifecycle string
	keep                   int
	managed                bool
}

// repositoryVerdict is what the judge found and what apply is to set.
type repositoryVerdict struct {
	found
	scanOff, mutable, noLifecycle bool
}

// judgeRepository compares the repository with the config: scan on push,
// immutable tags, a lifecycle rule keeping the newest keep-images.
func judgeRepository(seen repositorySeen, want repositoryWant) repositoryVerdict {
	v := repositoryVerdict{found: found{owner: ownerOf(seen.tags, want.stack), whose: whoseOf(seen.tags, want.stack), id: seen.uri}}
	scanOff, mutable := !seen.scanOnPush, !seen.immutable
	noLifecycle := seen.lifecycleAbsent || !sameJSON(seen.lifecycle, want.lifecycle)
	var ds []drift
	if scanOff {
		ds = append(ds, drift{"scan on push is off", "aws ecr put-image-scanning-configuration --repository-name " + want.name + " --image-scanning-configuration scanOnPush=true"})
	}
	if mutable {
		ds = append(ds, drift{"tags are mutable (a tag may come to name another build)", "aws ecr put-image-tag-mutability --repository-name " + want.name + " --image-tag-mutability IMMUTABLE"})
	}
	if noLifecycle {
		ds = append(ds, drift{fmt.Sprintf("no lifecycle rule keeping the newest %d images", want.keep),
			"such a rule expires older images, and with them every rollback by SHA to those builds: set keep-images to what you want to keep"})
	}
	if sortDrift(&v.found, "repository", want.managed, ds) {
		v.scanOff, v.mutable, v.noLifecycle = scanOff, mutable, noLifecycle
	}
	return v
}

func (r *repository) create(ctx context.Context) (string, error) {
	s := r.s
	r.name = r.repoName()
	out, err := s.c.ECR.CreateRepository(ctx, &ecr.CreateRepositoryInput{
		RepositoryName: aws.String(r.name), ImageTagMutability: ecrtypes.ImageTagMutabilityImmutable,
		ImageScanningConfiguration: &ecrtypes.ImageScanningConfiguration{ScanOnPush: true}, Tags: ecrTag.list(s.tagMap()),
	})
	if err != nil {
		return "", fmt.Errorf("create repository %s: %w", r.name, err)
	}
	s.set(func(o *Outputs) {
		o.RepositoryURI, o.RepositoryARN = aws.ToString(out.Repository.RepositoryUri), aws.ToString(out.Repository.RepositoryArn)
	})
	r.scanOff, r.mutable, r.noLifecycle = false, false, true
	if err := r.change(ctx); err != nil {
		return "", err
	}
	return r.s.get().RepositoryURI, nil
}

func (r *repository) change(ctx context.Context) error {
	c, name := r.s.c.ECR, aws.String(r.name)
	if r.scanOff {
		if _, err := c.PutImageScanningConfiguration(ctx, &ecr.PutImageScanningConfigurationInput{RepositoryName: name, ImageScanningConfiguration: &ecrtypes.ImageScanningConfiguration{ScanOnPush: true}}); err != nil {
			return fmt.Errorf("turn on scan on push: %w", err)
		}
	}
	if r.mutable {
		if _, err := c.PutImageTagMutability(ctx, &ecr.PutImageTagMutabilityInput{RepositoryName: name, ImageTagMutability: ecrtypes.ImageTagMutabilityImmutable}); err != nil {
			return fmt.Errorf("make tags immutable: %w", err)
		}
	}
	if r.noLifecycle {
		if _, err := c.PutLifecyclePolicy(ctx, &ecr.PutLifecyclePolicyInput{RepositoryName: name, LifecyclePolicyText: aws.String(r.lifecycle())}); err != nil {
			return fmt.Errorf("put lifecycle policy: %w", err)
		}
	}
	return nil
}

func (r *repository) destroy(ctx context.Context) error {
	_, err := r.s.c.ECR.DeleteRepository(ctx, &ecr.DeleteRepositoryInput{RepositoryName: aws.String(r.name), Force: true})
	return wrap("delete repository "+r.name, err)
}
