package deployhook

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"
)

// With a shared store the table is the queue: every job is written before
// its 202, and its holder renews a lease on it every heartbeat. A replica
// that stops (killed, drained, out of memory) stops renewing; once the
// lease is past, another replica takes the job with a conditional write
// and carries it on: a queued job runs as if just accepted (or expires), a
// running one follows what ECS shows of its deploy and is never deployed a
// second time. A replica that finds it lost a job (another holds it) lets
// it go without a word more to the table or to GitHub.

// tend keeps this replica's leases and takes the jobs other replicas left,
// until the queue's context ends. The two run apart: however long a look
// for orphans takes, the leases are renewed every heartbeat.
func (q *Queue) tend() {
	var looked sync.WaitGroup
	defer close(q.tended)
	defer looked.Wait()
	looked.Add(1)
	go func() {
		defer looked.Done()
		q.every(func() {
			q.mu.Lock()
			closed := q.closed
			q.mu.Unlock()
			if !closed {
				q.takeOrphans()
			}
		}, true)
	}()
	q.every(func() {
		q.renewName()
		q.renewAll()
	}, false)
}

// every calls f each heartbeat (and at once, if now) until the queue's
// context ends.
func (q *Queue) every(f func(), now bool) {
	if now {
		f()
	}
	t := time.NewTicker(q.heartbeat)
	defer t.Stop()
	for {
		select {
		case <-q.ctx.Done():
			return
		case <-t.C:
			f()
		}
	}
}

// renewName keeps this replica's name its own. Should another replica
// have taken it (this one could not renew it for a whole lease), the two
// would pass for one holder of a target: this one stops its deploys,
// takes no more jobs and renews no lease, so the other replicas carry its
// jobs on.
func (q *Queue) renewName() {
	q.mu.Lock()
	lost := q.nameLost
	q.mu.Unlock()
	if lost {
		return
	}
	err := q.shared.Register(q.ctx, q.holder, q.replicaToken, q.lockTTL)
	switch {
	case err == nil || q.ctx.Err() != nil:
	case errors.Is(err, ErrReplicaTaken):
		q.log.Error("another replica took this replica's id, which this one could not renew for a whole lease: it takes no more jobs; restart it with an id of its own (-replica-id)", "replica", q.holder)
		q.mu.Lock()
		q.closed, q.nameLost = true, true
		for _, j := range q.running {
			j.stop(fmt.Errorf("%w: another replica took this replica's id", ErrLostHold))
		}
		q.mu.Unlock()
	default:
		q.log.Warn("could not renew the replica id; trying again", "replica", q.holder, "error", err)
	}
}

// renewAll renews the lease on every job this replica holds and has not
// finished. A job another replica took is let go; one whose lease could not
// be renewed for two thirds of it stops, as a lost hold on its target does.
func (q *Queue) renewAll() {
	q.mu.Lock()
	if q.nameLost {
		q.mu.Unlock()
		return
	}
	var held []*Job
	for _, m := range []map[string]*Job{q.running, q.next, q.closing} {
		for _, j := range m {
			held = append(held, j)
		}
	}
	q.mu.Unlock()
	for _, j := range held {
		err := q.shared.RenewJob(q.ctx, j.ID, j.Token, q.lockTTL)
		now := q.now()
		q.mu.Lock()
		renewed, stop := j.renewed, j.stop
		if err == nil {
			j.renewed = now
		}
		q.mu.Unlock()
		switch {
		case err == nil:
		case errors.Is(err, ErrNotHolder):
			q.lose(j.ID, err)
		case now.Sub(renewed) >= q.lockTTL*2/3 && stop != nil:
			stop(fmt.Errorf("%w: renewing the lease on job %s failed for %v: %v", ErrLostHold, j.ID, now.Sub(renewed).Round(time.Second), err))
		default:
			q.log.Warn("could not renew the lease on a job; trying again", "job", j.ID, "error", err)
		}
	}
}

// takeOrphans takes over the jobs whose holder's lease expired: those
// that were running first (their deploys are in ECS already), then the
// queued ones, oldest first.
func (q *Queue) takeOrphans() {
	orphans, err := q.shared.OrphanJobs(q.ctx, q.margin())
	if err != nil {
		if q.ctx.Err() == nil {
			q.log.Warn("could not look for jobs other replicas left", "error", err)
		}
		return
	}
	slices.SortFunc(orphans, func(a, b Job) int {
		if (a.State == StateRunning) != (b.State == StateRunning) {
			if a.State == StateRunning {
				return -1
			}
			return 1
		}
		return a.Created.Compare(b.Created)
	})
	running := map[string]bool{} // targets with a running job among the orphans
	for _, j := range orphans {
		if j.State == StateRunning {
			running[j.Target] = true
		}
	}
	for _, j := range orphans {
		// A queued job is taken over at the second look that finds it
		// orphaned, unless the running job of its target is orphaned
		// too: both leases ran out together, and the running one, whose
		// deploy is in ECS already, must go first (taken the other way
		// round, the queued job would start and the carried-on one wait
		// behind it for a rollout only it follows).
		if j.State == StateQueued && !running[j.Target] {
			q.mu.Lock()
			seen := q.queuedSeen[j.ID]
			q.queuedSeen[j.ID] = true
			q.mu.Unlock()
			if !seen {
				continue
			}
		}
		q.mu.Lock()
		local, ok := q.jobs[j.ID]
		mine := ok && !local.State.Done()
		ended := ok && local.State.Done() && q.closing[j.ID] == nil
		closed := q.closed
		q.mu.Unlock()
		if mine || (closed && !ended) {
			continue
		}
		if err := verify(q.tableKeys, j); err != nil {
			q.refuseUnsigned(j.ID, err)
			continue
		}
		token, ok, err := q.shared.TakeJob(q.ctx, j, q.holder, q.lockTTL, q.margin())
		if err != nil {
			q.log.Warn("could not take a job over", "job", j.ID, "error", err)
			continue
		}
		switch {
		case !ok:
		case ended:
			q.close(local, token)
		default:
			j.Token = token
			q.adopt(j)
		}
		q.mu.Lock()
		delete(q.queuedSeen, j.ID)
		q.mu.Unlock()
	}
}

// close writes again the end of a job this replica ended and whose end
// never landed (the table still shows it open): the job is taken back
// for it, never carried on.
func (q *Queue) close(job *Job, token string) {
	q.mu.Lock()
	job.Token = token
	q.closing[job.ID] = job
	done := q.copy(job)
	q.mu.Unlock()
	q.log.Warn("the end of a job this replica ended is not in the shared store: writing it again", "job", job.ID, "state", done.State)
	q.wg.Add(1)
	go func() {
		defer q.wg.Done()
		q.saveEnd(done)
	}()
}

// refuseUnsigned says, once a job, that a job in the table is not one a
// replica of this hook made: it is left where it is, acted on by none.
func (q *Queue) refuseUnsigned(id string, err error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.refused[id] {
		return
	}
	if len(q.refused) > maxJobs {
		clear(q.refused)
	}
	q.refused[id] = true
	q.log.Error("not taking over a job that no replica of this hook signed: whoever wrote it may write the table; check who may (its jobs policy)", "job", id, "error", err)
}

// adopt carries on a job taken over from another replica.
func (q *Queue) adopt(j Job) {
	now := q.now()
	from, was := j.Holder, j.State
	if was.Done() { // its end is saved, only not closed: close it
		j.Holder, j.Version = q.holder, j.Version+1
		q.save(q.ctx, j)
		return
	}
	// A running job past its age is not carried on: what its deploy did
	// since is for a person to read.
	stale := was == StateRunning && now.Sub(j.Started) > q.setup.maxRunning
	var serviceNow string
	if stale {
		serviceNow = q.serviceNow(j)
	}
	q.mu.Lock()
	job := &Job{Job: j.Job, renewed: now, Token: j.Token, Sig: j.Sig}
	job.Holder, job.HeldSince = q.holder, now
	job.Events = append(job.Events, fmt.Sprintf("%s taken over by replica %s from replica %s, which stopped renewing its lease (its last lease ran out): carrying it on",
		now.UTC().Format(time.TimeOnly), q.holder, from))
	job.hooks = q.setup.hooksFor(*job)
	q.jobs[job.ID] = job
	q.order = append(q.order, job.ID)
	q.trim()
	q.m.takenOver.WithLabelValues(string(was)).Inc()
	q.log.Info("job taken over", "job", job.ID, "target", job.Target, "sha", job.SHA, "state", was, "from", from)
	q.m.jobState("", StateQueued)
	job.State = StateQueued
	var dirty []Job
	switch {
	case stale:
		q.finish(job, StateInterrupted, "", fmt.Sprintf("interrupted: replica %s stopped while the deploy ran, which began %s, more than %v ago, so it was not carried on; %s",
			from, job.Started.UTC().Format(time.RFC3339), q.setup.maxRunning, serviceNow))
	case was == StateRunning:
		job.carryOn = true
		job.Events = append(job.Events, "its deploy had started: following what ECS shows of it, never deploying the build a second time")
		dirty = q.place(job)
	case now.Sub(job.Created) > q.setup.maxQueued:
		q.finish(job, StateExpired, "", fmt.Sprintf("expired: accepted %s and still queued when replica %s stopped; it is past %v since, so nothing was deployed (send it again)",
			job.Created.UTC().Format(time.RFC3339), from, q.setup.maxQueued))
	default:
		dirty = q.place(job)
	}
	out := q.copy(job)
	q.mu.Unlock()
	q.save(q.ctx, append(dirty, out)...)
}

// lose lets go of a job another replica took over: a running one stops
// (and ends without a word), a queued one leaves the queue.
func (q *Queue) lose(id string, why error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	job := q.jobs[id]
	if job == nil || job.State.Done() {
		return
	}
	q.log.Warn("another replica took the job over: letting it go", "job", id, "target", job.Target, "why", why)
	if q.running[job.Target] == job {
		job.stop(fmt.Errorf("%w: %v", ErrNotHolder, why))
		return
	}
	if q.next[job.Target] == job {
		delete(q.next, job.Target)
	}
	q.forget(job)
}

// forget drops a job this replica no longer holds; q.mu is held. Its
// reads then go to the shared store.
func (q *Queue) forget(job *Job) {
	q.m.jobs.WithLabelValues(string(job.State)).Dec()
	delete(q.jobs, job.ID)
	if job.key != "" {
		delete(q.keys, job.key)
	}
	if i := slices.Index(q.order, job.ID); i >= 0 {
		q.order = slices.Delete(q.order, i, i+1)
	}
}

// letGo ends a job's run here without ending the job, when it is not this
// replica's to end: another replica took it over, or the hook is shutting
// down past its grace with a shared store, which hands it back for another
// replica to carry on. It reports whether it did.
func (q *Queue) letGo(job *Job, release func(), ctx context.Context) bool {
	lost := errors.Is(context.Cause(ctx), ErrNotHolder)
	handBack := q.shared != nil && q.ctx.Err() != nil
	if !lost && !handBack {
		return false
	}
	release()
	if handBack && !lost {
		q.handBack(job, "the deploy hook stopped while the deploy ran, past its grace")
	}
	q.mu.Lock()
	delete(q.running, job.Target)
	if !handBack {
		q.forget(job)
	}
	if next := q.next[job.Target]; next != nil && !q.closed {
		q.start(next)
	}
	q.mu.Unlock()
	return true
}

// handBack gives a job up at shutdown: its lease ends now, so another
// replica takes it over at its next look.
func (q *Queue) handBack(job *Job, why string) {
	q.mu.Lock()
	job.Events = append(job.Events, fmt.Sprintf("%s handed back by replica %s: %s", q.now().UTC().Format(time.TimeOnly), q.holder, why))
	snapshot := q.copy(job)
	q.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := q.shared.PutJob(ctx, snapshot, 0); err != nil {
		q.log.Warn("could not hand the job back; another replica takes it once its lease runs out", "job", job.ID, "error", err)
	}
}
