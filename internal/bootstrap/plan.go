package bootstrap

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"golang.org/x/sync/errgroup"
)

// stages groups the resources by stage, in order; a stage no resource of
// this config has is left out.
func stages(rs []resource) [][]resource {
	last := 0
	for _, r := range rs {
		last = max(last, r.stage())
	}
	var out [][]resource
	for stage := 1; stage <= last; stage++ {
		var st []resource
		for _, r := range rs {
			if r.stage() == stage {
				st = append(st, r)
			}
		}
		if len(st) > 0 {
			out = append(out, st)
		}
	}
	return out
}

// prepare finds what runs already, before any resource is judged. It
// changes nothing.
func (s *Stack) prepare(ctx context.Context) error {
	if s.c.STS != nil {
		// Every ARN a policy names is in this account, known before the
		// first resource is: the boundary, made first, names them all.
		id, err := s.c.STS.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
		if err != nil {
			return fmt.Errorf("who are these credentials (sts get-caller-identity): %w", err)
		}
		s.acct = aws.ToString(id.Account)
		// arn:aws:sts::ACCOUNT:assumed-role/NAME/SESSION
		if _, rest, ok := strings.Cut(aws.ToString(id.Arn), ":assumed-role/"); ok {
			s.asRole, _, _ = strings.Cut(rest, "/")
		}
	}
	if err := s.checkRegion(ctx); err != nil {
		return err
	}
	if err := s.checkAlarms(ctx); err != nil {
		return err
	}
	b, err := s.discover(ctx)
	if err != nil {
		return err
	}
	s.found = b
	s.set(func(o *Outputs) { o.AvailabilityZones = b.zones })
	return s.checkMoveBack()
}

// step is what a plan or a run says of one resource.
func step(r resource, f found) Step {
	kind, name := r.describe()
	st := Step{Kind: kind, Name: name, Action: f.action(), Owner: f.owner, ID: f.id, Advice: f.advice}
	if f.owner == OwnerAdopted {
		st.Whose = f.whose
	}
	switch st.Action {
	case Change:
		st.Detail = strings.Join(f.changes, "; ")
	case Skip:
		st.Detail = f.skip
	}
	// What a resource cannot be narrowed to, said wherever it shows.
	if n, ok := r.(interface{ planNote() string }); ok && st.Action != Skip && n.planNote() != "" {
		st.Detail = strings.TrimPrefix(st.Detail+"; "+n.planNote(), "; ")
	}
	return st
}

func findErr(r resource, err error) error {
	kind, name := r.describe()
	return fmt.Errorf("%s %s: %w", kind, name, err)
}

// Plan says, for each resource, whether it exists (ours or adopted), would
// be created, or would be changed, and what it advises on adopted
// resources. It changes nothing.
func (s *Stack) Plan(ctx context.Context) ([]Step, error) {
	if err := s.prepare(ctx); err != nil {
		return nil, err
	}
	var steps []Step
	for _, st := range stages(s.resources()) {
		res := make([]Step, len(st))
		g, gctx := errgroup.WithContext(ctx)
		for i, r := range st {
			g.Go(func() error {
				f, err := r.find(gctx)
				if err != nil {
					return findErr(r, err)
				}
				res[i] = step(r, f)
				return nil
			})
		}
		if err := g.Wait(); err != nil {
			return steps, err
		}
		steps = append(steps, res...)
	}
	return steps, nil
}

// Changes counts the steps that create or change something.
func Changes(steps []Step) int {
	n := 0
	for _, s := range steps {
		if s.Action == Create || s.Action == Change {
			n++
		}
	}
	return n
}

// Advice gathers the advice of the steps, each line naming its resource.
func Advice(steps []Step) []string {
	var out []string
	for _, s := range steps {
		for _, a := range s.Advice {
			out = append(out, fmt.Sprintf("%s %s: %s", s.Kind, s.Name, a))
		}
	}
	return out
}
