// Package authz maps an AWS API request to the IAM authorizations AWS
// makes for it, as the Service Authorization Reference lists them: the
// action, the resource ARN of each resource type the action takes, and the
// request's condition keys; and the further authorizations one call
// implies (tags given at creation, roles passed to a service). It is the
// one table of that mapping in the test bed; authz_test.go checks it
// against the Reference's own data and the code's calls.
package authz

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Check is one IAM authorization a request needs.
type Check struct {
	Action   string         // service:Action
	Resource string         // the resource's ARN; "*" for an action that takes none
	Context  map[string]any // the request's condition keys: a string or []string each
	// Exists is false for a resource the request creates: it has no tags
	// to read yet.
	Exists bool
}

// Request is an API request as the wire decoder read it.
type Request struct {
	Service   string // botocore's name: ec2, ecs, elbv2, logs, ...
	Operation string
	Params    map[string]any
	Region    string
	Account   string
}

// Resolver answers what AWS knows and a request only names: the test bed
// answers it from moto with admin credentials.
type Resolver interface {
	// SecretARN is the full ARN of a secret named by name or ARN.
	SecretARN(ctx context.Context, region, id string) (string, error)
	// RoleBoundary is the permissions boundary a role has ("" for none).
	RoleBoundary(ctx context.Context, role string) (string, error)
	// TaskDefinition resolves a family, family:revision or ARN to its ARN
	// and the roles it names.
	TaskDefinition(ctx context.Context, region, ref string) (arn, executionRole, taskRole string, err error)
	// NextRevision is the revision a family's next registration gets.
	NextRevision(ctx context.Context, region, family string) (int, error)
	// RouteTableOfAssociation is the route table (and subnet) of an association.
	RouteTableOfAssociation(ctx context.Context, region, association string) (routeTable, subnet string, err error)
}

// ErrUnmapped marks an operation the table does not know.
var ErrUnmapped = errors.New("no IAM mapping for this operation")

// Checks are the authorizations AWS makes for req.
func Checks(ctx context.Context, req Request, res Resolver) ([]Check, error) {
	build, ok := table[req.Service+":"+req.Operation]
	if !ok {
		return nil, fmt.Errorf("%s:%s: %w", req.Service, req.Operation, ErrUnmapped)
	}
	r := &call{Request: req, ctx: ctx, res: res}
	build(r)
	if r.err != nil {
		return nil, fmt.Errorf("%s:%s: %w", req.Service, req.Operation, r.err)
	}
	return r.checks, nil
}

// Operations are the operations the table maps, service:Operation.
func Operations() []string {
	var out []string
	for k := range table {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// call builds the checks of one request.
type call struct {
	Request
	ctx    context.Context
	res    Resolver
	checks []Check
	err    error
}

// add appends a check of an existing resource.
func (r *call) add(action, resource string, ctx ...map[string]any) {
	r.checks = append(r.checks, Check{Action: action, Resource: resource, Context: merge(ctx...), Exists: resource != "*"})
}

// create appends a check of a resource the request makes.
func (r *call) create(action, resource string, ctx ...map[string]any) {
	r.checks = append(r.checks, Check{Action: action, Resource: resource, Context: merge(ctx...)})
}

func (r *call) fail(err error) {
	if r.err == nil {
		r.err = err
	}
}

func merge(ms ...map[string]any) map[string]any {
	out := map[string]any{}
	for _, m := range ms {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}

// s is a string parameter by its path in the input (a.b.c).
func (r *call) s(path string) string {
	v, _ := r.at(path).(string)
	return v
}

func (r *call) at(path string) any {
	var v any = r.Params
	for _, p := range strings.Split(path, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[p]
	}
	return v
}

// list is a list parameter's strings.
func (r *call) list(path string) []string {
	items, _ := r.at(path).([]any)
	var out []string
	for _, it := range items {
		if s, ok := it.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// maps is a list parameter's structures.
func (r *call) maps(path string) []map[string]any {
	items, _ := r.at(path).([]any)
	var out []map[string]any
	for _, it := range items {
		if m, ok := it.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out
}

// arn is a regional ARN of this request's service, region and account.
func (r *call) arn(service, resource string) string {
	return fmt.Sprintf("arn:aws:%s:%s:%s:%s", service, r.Region, r.Account, resource)
}

func (r *call) iamARN(resource string) string {
	return fmt.Sprintf("arn:aws:iam::%s:%s", r.Account, resource)
}

// tagContext are the condition keys of the tags a request gives.
func tagContext(tags map[string]string) map[string]any {
	if len(tags) == 0 {
		return nil
	}
	ctx := map[string]any{}
	var keys []string
	for k, v := range tags {
		ctx["aws:RequestTag/"+k] = v
		keys = append(keys, k)
	}
	slices.Sort(keys)
	ctx["aws:TagKeys"] = keys
	return ctx
}

// tags reads a list of {keyField, valueField} structures.
func (r *call) tags(path, keyField, valueField string) map[string]string {
	out := map[string]string{}
	for _, m := range r.maps(path) {
		k, _ := m[keyField].(string)
		v, _ := m[valueField].(string)
		out[k] = v
	}
	return out
}

// lastPart is what follows the last / of an ARN or a name.
func lastPart(s string) string {
	return s[strings.LastIndex(s, "/")+1:]
}
