package bootstrap

import (
	"context"
	"fmt"
	"slices"
	"sync"

	"golang.org/x/sync/errgroup"
)

// stages groups the resources by stage, in order.
func stages(rs []resource) [][]resource {
	var out [][]resource
	for stage := 1; ; stage++ {
		var st []resource
		for _, r := range rs {
			if r.stage == stage {
				st = append(st, r)
			}
		}
		if len(st) == 0 {
			return out
		}
		out = append(out, st)
	}
}

// prepare checks what the config needs of the region before any change.
func (s *Stack) prepare(ctx context.Context) error {
	zones, err := s.zones(ctx)
	if err != nil {
		return err
	}
	s.set(func(o *Outputs) { o.AvailabilityZones = zones })
	return nil
}

// Plan says, for each resource, whether it exists, would be created, or
// has drifted and would be changed. It changes nothing.
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
				a, d, err := r.find(gctx)
				if err != nil {
					return fmt.Errorf("%s %s: %w", r.kind, r.name, err)
				}
				res[i] = Step{Kind: r.kind, Name: r.name, Action: a, Detail: d}
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

// Changes counts the steps that are not Exists.
func Changes(steps []Step) int {
	n := 0
	for _, s := range steps {
		if s.Action != Exists {
			n++
		}
	}
	return n
}

// Apply makes what is missing and repairs what drifted, stage by stage,
// the resources of a stage concurrently. progress hears each step as it is
// done, one call at a time. A failed run leaves what it made tagged, and the next run picks up
// from there.
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
				a, d, err := r.find(gctx)
				if err != nil {
					return fmt.Errorf("%s %s: %w", r.kind, r.name, err)
				}
				switch a {
				case Create:
					err = r.create(gctx)
					d = "created"
				case Change:
					if r.fix != nil {
						err = r.fix(gctx)
					}
					d = "changed: " + d
				}
				if err != nil {
					return fmt.Errorf("%s %s: %w", r.kind, r.name, err)
				}
				step := Step{Kind: r.kind, Name: r.name, Action: a, Detail: d}
				mu.Lock()
				defer mu.Unlock()
				steps = append(steps, step)
				progress(step) // one call at a time: the caller's writer needs no lock
				return nil
			})
		}
		if err := g.Wait(); err != nil {
			return steps, err
		}
	}
	return steps, nil
}

// Destroy removes what the bootstrap made, newest first, and leaves
// anything that does not carry its tags.
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
	found := make([]bool, len(order))
	for i, r := range order {
		a, _, err := r.find(ctx)
		if err != nil {
			return nil, fmt.Errorf("%s %s: %w", r.kind, r.name, err)
		}
		found[i] = a != Create
	}
	var steps []Step
	for i, r := range slices.Backward(order) {
		if !found[i] {
			continue
		}
		deleted, err := r.destroy(ctx)
		if err != nil {
			return steps, fmt.Errorf("%s %s: %w", r.kind, r.name, err)
		}
		step := Step{Kind: r.kind, Name: r.name, Action: "deleted"}
		if !deleted {
			step = Step{Kind: r.kind, Name: r.name, Action: "left", Detail: "not made by the bootstrap"}
		}
		steps = append(steps, step)
		progress(step)
	}
	return steps, nil
}
