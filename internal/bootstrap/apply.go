package bootstrap

import (
	"context"
	"sync"

	"golang.org/x/sync/errgroup"
)

// Apply makes what is missing, repairs what drifted on its own resources,
// and adds to adopted ones only what a deploy needs, stage by stage, the
// resources of a stage concurrently. progress hears each step as it is
// done, one call at a time. A failed run leaves what it made tagged, and
// the next run picks up from there.
func (s *Stack) Apply(ctx context.Context, progress func(Step)) ([]Step, error) {
	if progress == nil {
		progress = func(Step) {}
	}
	if err := s.prepare(ctx); err != nil {
		return nil, err
	}
	var mu sync.Mutex
	var steps []Step
	for _, st := range stages(s.resources()) {
		g, gctx := errgroup.WithContext(ctx)
		for _, r := range st {
			g.Go(func() error {
				f, err := r.find(gctx)
				if err != nil {
					return findErr(r, err)
				}
				st := step(r, f)
				if err := s.asPlanned(st); err != nil {
					return err
				}
				switch st.Action {
				case Create:
					st.ID, err = r.create(forStep(gctx, r))
					st.Owner, st.Detail = OwnerUs, "created"
				case Change:
					err = r.change(forStep(gctx, r))
					st.Detail = "changed: " + st.Detail
				}
				if err != nil {
					return findErr(r, err)
				}
				mu.Lock()
				defer mu.Unlock()
				steps = append(steps, st)
				if st.Owner != OwnerNone {
					s.set(func(o *Outputs) {
						o.Resources = append(o.Resources, Resource{Kind: st.Kind, Name: st.Name, ID: st.ID, Owner: st.Owner})
					})
				}
				progress(st) // one call at a time: the caller's writer needs no lock
				return nil
			})
		}
		if err := g.Wait(); err != nil {
			return steps, err
		}
	}
	return steps, nil
}
