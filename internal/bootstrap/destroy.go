package bootstrap

import (
	"context"
	"errors"
	"slices"
)

// leftError is a destroy that, on looking, leaves its resource: why says so.
type leftError struct{ why string }

func (e *leftError) Error() string { return "left: " + e.why }

// Destroy removes what the bootstrap made, newest first. It never touches
// an adopted resource, nor anything without its tags.
func (s *Stack) Destroy(ctx context.Context, progress func(Step)) ([]Step, error) {
	if progress == nil {
		progress = func(Step) {}
	}
	s.destroying = true
	if err := s.prepare(ctx); err != nil {
		return nil, err
	}
	// Find everything in creation order, then delete in the reverse of it.
	var order []resource
	for _, st := range stages(s.resources()) {
		order = append(order, st...)
	}
	owners := make([]Owner, len(order))
	for i, r := range order {
		f, err := r.find(ctx)
		if err != nil {
			return nil, findErr(r, err)
		}
		owners[i] = f.owner
	}
	var steps []Step
	for i, r := range slices.Backward(order) {
		kind, name := r.describe()
		var st Step
		switch owners[i] {
		case OwnerNone:
			continue
		case OwnerUs:
			var left *leftError
			switch err := r.destroy(ctx); {
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
			st = Step{Kind: kind, Name: name, Action: "left", Owner: owners[i], Detail: "adopted: not made by the bootstrap"}
		}
		steps = append(steps, st)
		progress(st)
	}
	return steps, nil
}
