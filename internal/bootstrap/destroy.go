package bootstrap

import (
	"context"
	"errors"
	"slices"
)

// leftError is a destroy that, on looking, leaves its resource: why says so.
type leftError struct{ why string }

func (e *leftError) Error() string { return "left: " + e.why }

// The actions of a destroy's plan.
const (
	Delete Action = "delete"
	Leave  Action = "leave"
)

// findForDestroy finds every resource in creation order, and whose each
// is: destroy goes through them in the reverse of it.
func (s *Stack) findForDestroy(ctx context.Context) ([]resource, []Owner, error) {
	s.destroying = true
	if err := s.prepare(ctx); err != nil {
		return nil, nil, err
	}
	var order []resource
	for _, st := range stages(s.resources()) {
		order = append(order, st...)
	}
	owners := make([]Owner, len(order))
	for i, r := range order {
		f, err := r.find(ctx)
		if err != nil {
			return nil, nil, findErr(r, err)
		}
		owners[i] = f.owner
	}
	return order, owners, nil
}

// DestroyPlan is what Destroy would do, newest first: each resource of the
// stack's to delete, each adopted one to leave (with what the stack added
// to it under its own name, which goes). It changes nothing.
func (s *Stack) DestroyPlan(ctx context.Context) ([]Step, error) {
	_, steps, err := s.destroyPlan(ctx)
	return steps, err
}

// destroyPlan is the resources destroy goes through, newest first, each
// with its step of the plan.
func (s *Stack) destroyPlan(ctx context.Context) ([]resource, []Step, error) {
	order, owners, err := s.findForDestroy(ctx)
	if err != nil {
		return nil, nil, err
	}
	var rs []resource
	var steps []Step
	for i, r := range slices.Backward(order) {
		kind, name := r.describe()
		st := Step{Kind: kind, Name: name, Action: Delete, Owner: OwnerUs}
		switch owners[i] {
		case OwnerNone:
			continue
		case OwnerUs:
		default:
			st = Step{Kind: kind, Name: name, Action: Leave, Owner: owners[i], Detail: "adopted: not made by the bootstrap"}
			if n, ok := r.(interface{ releaseNote() string }); ok && n.releaseNote() != "" {
				st.Detail += "; " + n.releaseNote()
			}
		}
		rs, steps = append(rs, r), append(steps, st)
	}
	return rs, steps, nil
}

// Destroy removes what the bootstrap made, newest first. It never touches
// an adopted resource, nor anything without its tags, but for what the
// stack added to an adopted one under its own name.
func (s *Stack) Destroy(ctx context.Context, progress func(Step)) ([]Step, error) {
	if progress == nil {
		progress = func(Step) {}
	}
	rs, plan, err := s.destroyPlan(ctx)
	if err != nil {
		return nil, err
	}
	var steps []Step
	for i, r := range rs {
		kind, name := r.describe()
		var st Step
		switch plan[i].Action {
		case Delete:
			var left *leftError
			switch err := r.destroy(forStep(ctx, r)); {
			case errors.As(err, &left):
				st = Step{Kind: kind, Name: name, Action: "left", Owner: OwnerUs, Detail: left.why}
			case err != nil:
				return steps, findErr(r, err)
			default:
				st = Step{Kind: kind, Name: name, Action: "deleted", Owner: OwnerUs}
				if n, ok := r.(interface{ deletedNote() string }); ok {
					st.Detail = n.deletedNote()
				}
			}
		default:
			st = Step{Kind: kind, Name: name, Action: "left", Owner: plan[i].Owner, Detail: "adopted: not made by the bootstrap"}
			// What this stack added to it under its own name goes.
			if rel, ok := r.(interface {
				release(context.Context) (string, error)
			}); ok {
				said, err := rel.release(forStep(ctx, r))
				if err != nil {
					return steps, findErr(r, err)
				}
				if said != "" {
					st.Detail += "; " + said
				}
			}
		}
		steps = append(steps, st)
		progress(st)
	}
	return steps, nil
}
