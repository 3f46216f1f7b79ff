package ecssim

import (
	"fmt"
	"math"
	"time"
)

// Timing is how long ECS's phases of a task take, on the simulator's
// clock: a model of a rollout's time, for benchmarks. Without it a rollout
// takes its scenario's After (half of it to run, all of it to complete).
type Timing struct {
	// Placement, Pull and Start are a task's way to running: Fargate's
	// capacity and network interface, the image pull, the container's start.
	Placement, Pull, Start time.Duration
	// HealthCheckInterval and HealthyThreshold: a task behind a load
	// balancer takes traffic after HealthyThreshold checks in a row.
	HealthCheckInterval time.Duration
	HealthyThreshold    int
	// Deregistration is how long an old task drains before it stops; the
	// deployment completes once it has.
	Deregistration time.Duration
	// BreakerThreshold is how many failed tasks trip the circuit breaker:
	// max(3, min(200, desired/2)) on ECS, so 3 for one task.
	BreakerThreshold int
}

// WithTiming makes every rollout follow t instead of a fixed duration.
func WithTiming(t Timing) Option {
	return func(s *Simulator) error {
		if t.Placement < 0 || t.Pull < 0 || t.Start < 0 || t.HealthCheckInterval < 0 || t.Deregistration < 0 || t.HealthyThreshold < 0 {
			return fmt.Errorf("timing %+v: durations and thresholds may not be negative", t)
		}
		if t.BreakerThreshold < 1 {
			t.BreakerThreshold = 3
		}
		s.timing = &t
		return nil
	}
}

// attempt is how long a task takes to run, or to fail at its start.
func (t *Timing) attempt() time.Duration { return t.Placement + t.Pull + t.Start }

// healthy is how long a new task takes to take traffic.
func (t *Timing) healthy(behindLB bool) time.Duration {
	d := t.attempt()
	if behindLB {
		d += t.HealthCheckInterval * time.Duration(t.HealthyThreshold)
	}
	return d
}

// lastStepOf is the step at which rollout r ends: the third for a rollout
// that completes, the breaker's for one that fails (never, with no breaker).
func (s *Simulator) lastStepOf(sv *service, r *rollout) int {
	if s.timing == nil || r.scenario.Outcome != Fail {
		return lastStep
	}
	if cb := sv.svc.DeploymentConfiguration.DeploymentCircuitBreaker; cb == nil || !cb.Enable {
		return math.MaxInt32
	}
	return s.timing.BreakerThreshold + 1
}

// timedOffset is when step n of rollout r is due under the timing model:
// a completing rollout runs when its tasks are healthy and completes when
// the old tasks drained; a failing one fails a task each attempt.
func (s *Simulator) timedOffset(sv *service, r *rollout, n int) time.Duration {
	t, behindLB := s.timing, len(sv.svc.LoadBalancers) > 0
	if n <= 1 {
		return 0
	}
	if r.scenario.Outcome == Fail {
		return time.Duration(n-1) * t.attempt()
	}
	if n == 2 {
		return t.healthy(behindLB)
	}
	done := t.healthy(behindLB)
	if behindLB && !r.rollback {
		done += t.Deregistration
	}
	return done
}

// SetTiming makes the rollouts that start from now on follow t, as
// WithTiming does from the start.
func (s *Simulator) SetTiming(t Timing) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return WithTiming(t)(s)
}
