package bootstrap

import (
	"context"
	"slices"
)

// Destroy removes what the bootstrap made, newest first. It never touches
// an adopted resource, nor anything without its tags.
func (s *Stack) Destroy(ctx context.Context, progress func(Step)) ([]Step, error) {
	if progress == nil {
		progress = func(Step) {}
	}
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
			if err := r.destroy(ctx); err != nil {
				return steps, findErr(r, err)
			}
			st = Step{Kind: kind, Name: name, Action: "deleted", Owner: OwnerUs}
		default:
			st = Step{Kind: kind, Name: name, Action: "left", Owner: owners[i], Detail: "adopted: not made by the bootstrap"}
		}
		steps = append(steps, st)
		progress(st)
	}
	return steps, nil
}
