package bootstrap

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
)

// planFormat names the plan file's format; a file of another is refused.
const planFormat = "deploy-action-bootstrap-plan/1"

// SavedPlan is a plan written by plan -out FILE, and what apply FILE
// carries out: the config it was made from (names and settings; no secret
// value, which comes from the environment again) and each step.
type SavedPlan struct {
	Format  string `json:"format"`
	Version string `json:"version"`
	Config  Config `json:"config"`
	Steps   []Step `json:"steps"`
}

// WritePlan writes the plan of cfg to file, readable by its owner alone.
func WritePlan(file, version string, cfg Config, steps []Step) error {
	raw, err := json.MarshalIndent(SavedPlan{Format: planFormat, Version: version, Config: cfg, Steps: steps}, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(file, append(raw, '\n'), 0o600); err != nil {
		return fmt.Errorf("write the plan: %w", err)
	}
	return nil
}

// ReadPlan reads a plan file plan -out wrote.
func ReadPlan(file string) (*SavedPlan, error) {
	raw, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("read the plan: %w", err)
	}
	var p SavedPlan
	if err := json.Unmarshal(raw, &p); err != nil || p.Format != planFormat {
		return nil, fmt.Errorf("%s is not a plan written by bootstrap plan -out (format %s): make one with bootstrap plan -config FILE -out %s", file, planFormat, file)
	}
	return &p, nil
}

// ErrPlanChanged is apply's answer when the account is no longer what the
// plan it was given saw: nothing, or nothing more, is changed.
var ErrPlanChanged = errors.New("the account changed since the plan")

// key names a step as the plan does.
func (s Step) key() string { return s.Kind + " " + s.Name }

// same reports whether a step does what the planned one said it would.
func (s Step) same(planned Step) bool {
	return s.key() == planned.key() && s.Action == planned.Action && s.Detail == planned.Detail
}

// changed says how the account differs from the plan's: the first step
// whose action or words are not the plan's, or that the plan lacks; ""
// when every step is as planned.
func changed(planned, now []Step) string {
	byKey := map[string]Step{}
	for _, p := range planned {
		byKey[p.key()] = p
	}
	for _, s := range now {
		p, ok := byKey[s.key()]
		switch {
		case !ok && (s.Action == Create || s.Action == Change):
			return fmt.Sprintf("%s: not in the plan, now %s", s.key(), describeStep(s))
		case ok && !s.same(p):
			return fmt.Sprintf("%s: planned %s, now %s", s.key(), describeStep(p), describeStep(s))
		}
		delete(byKey, s.key())
	}
	for _, p := range planned {
		if _, left := byKey[p.key()]; left && (p.Action == Create || p.Action == Change) {
			return fmt.Sprintf("%s: planned %s, now nothing to do", p.key(), describeStep(p))
		}
	}
	return ""
}

func describeStep(s Step) string {
	if s.Detail == "" {
		return string(s.Action)
	}
	return string(s.Action) + " (" + s.Detail + ")"
}

// WithPlan makes apply carry out exactly steps, a plan shown (and saved or
// agreed to) before: a resource whose create or change is not the plan's,
// in action or in words, stops apply before it is touched.
func WithPlan(steps []Step) Option {
	return func(s *Stack) error {
		s.planned = map[string]Step{}
		for _, st := range steps {
			s.planned[st.key()] = st
		}
		return nil
	}
}

// asPlanned is an error when apply is held to a plan and st is not what it
// said.
func (s *Stack) asPlanned(st Step) error {
	if s.planned == nil || st.Action != Create && st.Action != Change {
		return nil
	}
	p, ok := s.planned[st.key()]
	if ok && st.same(p) {
		return nil
	}
	was := "not in the plan"
	if ok {
		was = "planned " + describeStep(p)
	}
	return fmt.Errorf("%w: %s: %s, now %s; it was not touched: run plan again", ErrPlanChanged, st.key(), was, describeStep(st))
}
