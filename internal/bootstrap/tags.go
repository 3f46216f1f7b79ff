package bootstrap

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	ecrtypes "github.com/aws/aws-sdk-go-v2/service/ecr/types"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
)

// Every resource the bootstrap makes carries its two tags (tagMap), and
// whose a resource is comes from them alone (owner). Each AWS service has a
// tag type of its own, all a key and a value: tagKind makes and reads one,
// so that a resource's file says which service's tags it uses and nothing
// more.

// tagKind is one SDK's tag type.
type tagKind[T any] struct {
	make func(k, v *string) T
	read func(T) (k, v *string)
}

var (
	ec2Tag = tagKind[ec2types.Tag]{func(k, v *string) ec2types.Tag { return ec2types.Tag{Key: k, Value: v} }, func(t ec2types.Tag) (*string, *string) { return t.Key, t.Value }}
	ecsTag = tagKind[ecstypes.Tag]{func(k, v *string) ecstypes.Tag { return ecstypes.Tag{Key: k, Value: v} }, func(t ecstypes.Tag) (*string, *string) { return t.Key, t.Value }}
	iamTag = tagKind[iamtypes.Tag]{func(k, v *string) iamtypes.Tag { return iamtypes.Tag{Key: k, Value: v} }, func(t iamtypes.Tag) (*string, *string) { return t.Key, t.Value }}
	elbTag = tagKind[elbtypes.Tag]{func(k, v *string) elbtypes.Tag { return elbtypes.Tag{Key: k, Value: v} }, func(t elbtypes.Tag) (*string, *string) { return t.Key, t.Value }}
	ecrTag = tagKind[ecrtypes.Tag]{func(k, v *string) ecrtypes.Tag { return ecrtypes.Tag{Key: k, Value: v} }, func(t ecrtypes.Tag) (*string, *string) { return t.Key, t.Value }}
	smTag  = tagKind[smtypes.Tag]{func(k, v *string) smtypes.Tag { return smtypes.Tag{Key: k, Value: v} }, func(t smtypes.Tag) (*string, *string) { return t.Key, t.Value }}
	cwTag  = tagKind[cwtypes.Tag]{func(k, v *string) cwtypes.Tag { return cwtypes.Tag{Key: k, Value: v} }, func(t cwtypes.Tag) (*string, *string) { return t.Key, t.Value }}
)

// list is m as tags of this kind, by key.
func (k tagKind[T]) list(m map[string]string) []T {
	out := make([]T, 0, len(m))
	for _, key := range slices.Sorted(maps.Keys(m)) {
		out = append(out, k.make(aws.String(key), aws.String(m[key])))
	}
	return out
}

// of is tags of this kind as a map.
func (k tagKind[T]) of(tags []T) map[string]string {
	m := make(map[string]string, len(tags))
	for _, t := range tags {
		key, v := k.read(t)
		m[aws.ToString(key)] = aws.ToString(v)
	}
	return m
}

// tagMap are the tags of everything the bootstrap makes.
func (s *Stack) tagMap() map[string]string {
	return map[string]string{TagManagedBy: ManagedByValue, TagStack: s.cfg.Name, TagRegion: s.cfg.Region}
}

// owner is OwnerUs for a resource with our tags, else OwnerAdopted.
func (s *Stack) owner(tags map[string]string) Owner { return ownerOf(tags, s.cfg.Name) }

// ownerOf is OwnerUs for a resource with the tags of stack, else OwnerAdopted.
func ownerOf(tags map[string]string, stack string) Owner {
	if tags[TagManagedBy] == ManagedByValue && tags[TagStack] == stack {
		return OwnerUs
	}
	return OwnerAdopted
}

// whoseOf names the other stack a resource with the bootstrap's tags
// belongs to ("stack staging in us-east-1"), "" for this stack's and for
// one no stack made.
func whoseOf(tags map[string]string, stack string) string {
	other := tags[TagStack]
	if tags[TagManagedBy] != ManagedByValue || other == "" || other == stack {
		return ""
	}
	if r := tags[TagRegion]; r != "" {
		return "stack " + other + " in " + r
	}
	return "stack " + other
}

// ec2Tags are the tags an EC2 resource is created with: ours and its Name.
func (s *Stack) ec2Tags(kind ec2types.ResourceType, name string) []ec2types.TagSpecification {
	m := s.tagMap()
	m["Name"] = name
	return []ec2types.TagSpecification{{ResourceType: kind, Tags: ec2Tag.list(m)}}
}

// ours filters EC2's lists to what carries our tags.
func (s *Stack) ours() []ec2types.Filter {
	return []ec2types.Filter{filter("tag:"+TagManagedBy, ManagedByValue), filter("tag:"+TagStack, s.cfg.Name)}
}

func filter(name string, values ...string) ec2types.Filter {
	return ec2types.Filter{Name: aws.String(name), Values: values}
}

// lbTags reads the tags of an ELBv2 resource.
func (s *Stack) lbTags(ctx context.Context, arn string) (map[string]string, error) {
	out, err := s.c.ELB.DescribeTags(ctx, &elb.DescribeTagsInput{ResourceArns: []string{arn}})
	if err != nil {
		return nil, fmt.Errorf("describe tags of %s: %w", arn, err)
	}
	tags := map[string]string{}
	for _, d := range out.TagDescriptions {
		maps.Copy(tags, elbTag.of(d.Tags))
	}
	return tags, nil
}

// lbOwner reads the owner of an ELBv2 resource from its tags.
func (s *Stack) lbOwner(ctx context.Context, arn string) (Owner, error) {
	tags, err := s.lbTags(ctx, arn)
	if err != nil {
		return OwnerNone, err
	}
	return s.owner(tags), nil
}
