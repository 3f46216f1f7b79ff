package deployhook

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/autonote/deploy-action/internal/hookapi"
)

// State is where a job is: the wire format's.
type State = hookapi.State

// The states of a job.
const (
	StateQueued      = hookapi.StateQueued
	StateRunning     = hookapi.StateRunning
	StateSucceeded   = hookapi.StateSucceeded
	StateFailed      = hookapi.StateFailed
	StateRolledBack  = hookapi.StateRolledBack
	StateSuperseded  = hookapi.StateSuperseded
	StateInterrupted = hookapi.StateInterrupted
	StateCancelled   = hookapi.StateCancelled
	StateExpired     = hookapi.StateExpired
)

// Interrupter says what a target's service runs when a job of it is cut
// short by the hook's shutdown: a Runner that is one fills the job's error.
type Interrupter interface {
	Interrupted(ctx context.Context, j Job) string
}

// Job is one deploy of a SHA to a target: the wire format's job, and what
// the queue keeps beside it.
type Job struct {
	hookapi.Job

	// hooks hear the job start and end (GitHub deployment statuses).
	hooks []JobHook
	key   string // the delivery or webhook id that made it
	// carryOn: the job was running on a replica that stopped; it is
	// carried on from what ECS shows, never deployed a second time.
	carryOn bool
	// stop ends the running job's context, with why.
	stop context.CancelCauseFunc
	// renewed is when its lease was last renewed.
	renewed time.Time
	// Token is the job's hold in the shared store: its holder's every
	// write, and every change its deploy asks of ECS, is conditional on
	// it, so a replica that lost the job to another changes nothing more.
	Token string `json:"-"`
	// Sig is the job's signature under the table keys, when the hook has
	// them: what a replica that takes it over checks before acting on it.
	Sig string `json:"-"`
	// guard renews the hold under Token; nil without a shared store.
	guard func(context.Context) error
}

// Guard renews the job's hold (its lease in the shared store): an error
// says another replica holds the job now, or the store could not be
// reached, and the runner must not change anything. Without a shared
// store it always passes.
func (j Job) Guard(ctx context.Context) error {
	if j.guard == nil {
		return nil
	}
	return j.guard(ctx)
}

// CarriedOn reports whether the job is carried on from another replica
// that was running it: the runner must follow what ECS shows of its
// deploy, and never start it again.
func (j Job) CarriedOn() bool { return j.carryOn }

// JobHook hears a job's changes of state; the job is a copy.
type JobHook func(ctx context.Context, j Job)

// Outcome is what running a job ended with.
type Outcome struct {
	State          State
	TaskDefinition string
	// Image, Digest, DeploymentID, the previous revision and the URL, when
	// known, go on the job.
	Image, Digest, DeploymentID string
	PreviousTaskDefinition, URL string
}

// Runner runs one job: checks that the image of its SHA exists, then
// deploys it. report adds a line to the job's events.
type Runner interface {
	Run(ctx context.Context, j Job, report func(event string)) (Outcome, error)
}

// MaxJobEvents bounds the events a job keeps (a migration that prints
// without end must not grow the job, or its JSON, without end), and
// MaxJobEventBytes their size; MaxEventBytes bounds one event, which is
// cut with a marker past it.
const (
	MaxJobEvents     = 2000
	MaxJobEventBytes = 1 << 20
	MaxEventBytes    = 4 << 10
)

// boundEvent cuts an event past MaxEventBytes, on a rune boundary, saying
// how much was cut.
func boundEvent(e string) string {
	if len(e) <= MaxEventBytes {
		return e
	}
	cut := MaxEventBytes - 64
	for cut > 0 && !utf8.RuneStart(e[cut]) {
		cut--
	}
	return e[:cut] + " … (" + strconv.Itoa(len(e)-cut) + " bytes cut)"
}

// ErrShuttingDown is returned for jobs submitted after Shutdown began.
var ErrShuttingDown = errors.New("the deploy hook is shutting down")

// Queue runs jobs, one at a time per target. A job submitted while its
// target is busy waits; a newer one replaces it (superseded), so a burst of
// pushes deploys only the newest SHA.
type Queue struct {
	runner Runner
	log    *slog.Logger
	now    func() time.Time
	ctx    context.Context // jobs run under it; canceled when the grace period ends
	cancel context.CancelFunc
	m      *metrics

	// shared, when set, is what the replicas share.
	sharing
	setup  queueSetup
	tended chan struct{} // closed when the lease keeper has stopped

	mu      sync.Mutex
	jobs    map[string]*Job
	keys    map[string]string // delivery or webhook id -> job id
	order   []string          // job ids, oldest first, to bound memory
	running map[string]*Job   // by target
	next    map[string]*Job   // by target
	closing map[string]*Job   // by id: ended, the end not yet in the shared store
	// queuedSeen are the queued jobs found orphaned once: taken over at
	// the next look, so that the job running before them on their target,
	// whose lease runs out a moment later, is taken over first.
	queuedSeen map[string]bool
	refused    map[string]bool // ids of unsigned jobs in the table, said once
	closed     bool
	// nameLost: another replica took this one's name; it renews nothing.
	nameLost bool
	wg       sync.WaitGroup
}

// maxJobs is how many finished jobs (and their dedupe keys) are kept.
const maxJobs = 10000

// sharing is how a queue shares its jobs and targets with other replicas:
// none when shared is nil.
type sharing struct {
	shared   Store
	holder   string        // this replica's name in the store
	lockWait time.Duration // how often a job waiting for another replica's deploy asks again
	// lockTTL is the lease: how long a hold on a target, or on a job, lasts
	// unless renewed, every heartbeat.
	lockTTL, heartbeat time.Duration
	// replicaToken is this replica's hold on its name (holder) in the store.
	replicaToken string
	// tableKeys sign the jobs this replica makes and verify those it takes
	// over; none: jobs are neither signed nor checked.
	tableKeys [][]byte
}

// margin is how long past its end another replica's lease is still
// honoured: a third of the lease. Clocks of replicas that differ by less
// never give a job, or a target, two holders: the holder stops a deploy
// whose lease it could not renew for two thirds of it (by the next
// heartbeat, at most a third later), before another replica takes it.
func (sh sharing) margin() time.Duration { return sh.lockTTL / 3 }

// queueSetup is what a queue takes from the server beside its runner.
type queueSetup struct {
	// hooksFor makes the hooks of a job (GitHub deployment statuses), from
	// what the job carries: the same for a job accepted here and for one
	// taken over from another replica.
	hooksFor func(Job) []JobHook
	// maxQueued is how long after it was accepted a job taken over while
	// still queued may still run; past it, it expires.
	maxQueued time.Duration
	// maxRunning is how long after its deploy began a job taken over
	// while running may still be carried on; past it, it ends interrupted.
	maxRunning time.Duration
}

// Submission is one request to deploy a SHA to a target.
type Submission struct {
	// Key is the delivery or webhook id that dedupes it; "" never does.
	Key    string
	Target string
	SHA    string
	// Source says where it came from: "api", "github:deployment", ...
	Source string
	// GitHub is the GitHub deployment the job reports to, if any; JobURL
	// names the job's status page, for its statuses.
	GitHub *hookapi.GitHubDeployment
	JobURL func(id string) string
}

// newQueue returns a queue that runs jobs with runner, sharing them as sh says.
func newQueue(runner Runner, log *slog.Logger, now func() time.Time, m *metrics, sh sharing, setup queueSetup) *Queue {
	ctx, cancel := context.WithCancel(context.Background())
	if setup.hooksFor == nil {
		setup.hooksFor = func(Job) []JobHook { return nil }
	}
	q := &Queue{
		runner: runner, log: log, now: now, ctx: ctx, cancel: cancel, m: m, sharing: sh, setup: setup,
		jobs: map[string]*Job{}, keys: map[string]string{},
		running: map[string]*Job{}, next: map[string]*Job{}, closing: map[string]*Job{}, queuedSeen: map[string]bool{}, refused: map[string]bool{}, tended: make(chan struct{}),
	}
	if sh.shared != nil {
		go q.tend()
	} else {
		close(q.tended)
	}
	return q
}

// Submit queues a deploy of a SHA to a target. A key already seen (a
// repeated delivery, here or, with a shared store, at another replica)
// returns the job it made, and created is false.
func (q *Queue) Submit(ctx context.Context, sub Submission) (j Job, created bool, err error) {
	key, target, sha, source := sub.Key, sub.Target, sub.SHA, sub.Source
	q.mu.Lock()
	if id, ok := q.keys[key]; ok && key != "" {
		if old, ok := q.jobs[id]; ok {
			defer q.mu.Unlock()
			return q.copy(old), false, nil
		}
	}
	closed := q.closed
	q.mu.Unlock()
	if closed {
		return Job{}, false, ErrShuttingDown
	}
	id := newID()
	if q.shared != nil && key != "" {
		owner, err := q.shared.Claim(ctx, key, id)
		if err != nil {
			return Job{}, false, err
		}
		if owner != id {
			if old, ok := q.Get(ctx, owner); ok {
				return old, false, nil
			}
			return Job{Job: hookapi.Job{ID: owner, Target: target, SHA: sha, Source: source, State: StateQueued}}, false, nil
		}
	}

	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return Job{}, false, ErrShuttingDown
	}
	// Checked again under the lock that inserts: two submissions of one key
	// may both have passed the first look.
	if id, ok := q.keys[key]; ok && key != "" {
		if old, ok := q.jobs[id]; ok {
			defer q.mu.Unlock()
			return q.copy(old), false, nil
		}
	}
	now := q.now()
	job := &Job{Job: hookapi.Job{ID: id, Target: target, SHA: sha, Source: source, State: StateQueued, Created: now, Events: []string{},
		Holder: q.holder, HeldSince: now}, key: key, renewed: now, Token: newToken()}
	if sub.GitHub != nil {
		g := *sub.GitHub
		if sub.JobURL != nil {
			g.LogURL = sub.JobURL(id)
		}
		job.GitHubDeployment = &g
	}
	job.Sig = sign(q.tableKeys, *job)
	job.hooks = q.setup.hooksFor(*job)
	q.jobs[job.ID] = job
	if key != "" {
		q.keys[key] = job.ID
	}
	q.order = append(q.order, job.ID)
	q.trim()
	q.m.jobState("", StateQueued)
	dirty := q.place(job)
	out := q.copy(job)
	q.mu.Unlock()
	q.save(ctx, append(dirty, out)...)
	return out, true, nil
}

// place starts a queued job, or queues it behind the one running on its
// target, superseding the one queued there (the older of the two); q.mu is
// held. It returns the jobs it superseded, to save.
func (q *Queue) place(job *Job) []Job {
	var dirty []Job
	if old := q.next[job.Target]; old != nil {
		if old.Created.After(job.Created) { // a job taken over, older than the one queued
			q.finish(job, StateSuperseded, "", fmt.Sprintf("superseded by job %s (sha %s)", old.ID, old.SHA))
			return []Job{q.copy(job)}
		}
		q.finish(old, StateSuperseded, "", fmt.Sprintf("superseded by job %s (sha %s)", job.ID, job.SHA))
		dirty = append(dirty, q.copy(old))
	}
	if q.running[job.Target] == nil {
		q.start(job)
	} else {
		q.next[job.Target] = job
		job.Events = append(job.Events, "waiting for job "+q.running[job.Target].ID)
	}
	return dirty
}

// save writes jobs to the shared store, if there is one. A failure is
// logged: the job goes on, only other replicas see it late.
func (q *Queue) save(ctx context.Context, jobs ...Job) {
	if q.shared == nil {
		return
	}
	for _, j := range jobs {
		switch err := q.shared.PutJob(ctx, j, q.lockTTL); {
		case errors.Is(err, ErrNotHolder):
			q.lose(j.ID, err)
		case err != nil:
			q.log.Warn("could not save the job to the shared store", "job", j.ID, "error", err)
		}
	}
}

// Get returns a copy of the job, made here or, with a shared store, at
// another replica.
func (q *Queue) Get(ctx context.Context, id string) (Job, bool) {
	q.mu.Lock()
	j, ok := q.jobs[id]
	if ok {
		defer q.mu.Unlock()
		return q.copy(j), true
	}
	q.mu.Unlock()
	if q.shared == nil {
		return Job{}, false
	}
	shared, ok, err := q.shared.GetJob(ctx, id)
	if err != nil {
		q.log.Warn("could not read the job from the shared store", "job", id, "error", err)
	}
	return shared, ok
}

func (q *Queue) copy(j *Job) Job {
	j.Version++
	c := *j
	c.Events = append([]string(nil), j.Events...)
	c.hooks = nil
	return c
}

// start runs job now; q.mu is held.
func (q *Queue) start(job *Job) {
	q.running[job.Target] = job
	delete(q.next, job.Target)
	job.State = StateRunning
	if job.Started.IsZero() { // a job carried on keeps when it first started
		job.Started = q.now()
	}
	q.m.jobState(StateQueued, StateRunning)
	jobCtx, stop := context.WithCancelCause(q.ctx)
	job.stop = stop
	snapshot := q.copy(job)
	if q.shared != nil {
		snapshot.guard = q.guard(job, job.Token)
	}
	hooks := job.hooks
	q.wg.Add(1)
	go func() {
		defer q.wg.Done()
		defer stop(nil)
		q.save(q.ctx, snapshot)
		ctx, release, err := q.lockTarget(jobCtx, job)
		if err != nil {
			if q.letGo(job, func() {}, jobCtx) {
				return
			}
			q.end(job, func() {}, StateFailed, "", err.Error())
			return
		}
		for _, h := range hooks {
			h(ctx, snapshot)
		}
		var kept int // bytes of the job's events
		out, err := q.runner.Run(ctx, snapshot, func(event string) {
			event = boundEvent(event)
			q.mu.Lock()
			defer q.mu.Unlock()
			switch n := len(job.Events); {
			case n < MaxJobEvents && kept+len(event) <= MaxJobEventBytes:
				job.Events = append(job.Events, event)
				kept += len(event)
			case n < MaxJobEvents+1 && kept <= MaxJobEventBytes:
				job.Events = append(job.Events, "(more events are not kept: a job holds at most "+strconv.Itoa(MaxJobEvents)+" events, "+strconv.Itoa(MaxJobEventBytes>>10)+" KiB)")
				kept = MaxJobEventBytes + 1
			}
		})
		if q.letGo(job, release, ctx) {
			return
		}
		state := out.State
		msg := ""
		if err != nil {
			msg = err.Error()
			if state == "" || state == StateSucceeded {
				state = StateFailed
			}
		}
		if q.ctx.Err() != nil { // the grace after SIGTERM is over
			state, msg = StateInterrupted, "interrupted: the deploy hook stopped while the deploy ran, past its grace; "+q.serviceNow(snapshot)
		} else if cause := context.Cause(ctx); errors.Is(cause, ErrLostHold) {
			state, msg = StateFailed, cause.Error()+": "+msg
			q.mu.Lock()
			job.Events = append(job.Events, cause.Error())
			q.mu.Unlock()
		}
		q.mu.Lock()
		job.Image, job.Digest, job.DeploymentID = out.Image, out.Digest, out.DeploymentID
		job.PreviousTaskDefinition, job.URL = out.PreviousTaskDefinition, out.URL
		q.mu.Unlock()
		q.end(job, release, state, out.TaskDefinition, msg)
	}()
}

// end finishes a running job, gives its target up, and starts the job
// waiting for the target, if any.
func (q *Queue) end(job *Job, release func(), state State, taskDefinition, msg string) {
	release() // before the next job of the target takes it
	q.mu.Lock()
	q.m.deployDuration(q.now().Sub(job.Started))
	q.finish(job, state, taskDefinition, msg)
	done := q.copy(job)
	delete(q.running, job.Target)
	if q.shared != nil {
		q.closing[job.ID] = job
	}
	if next := q.next[job.Target]; next != nil && !q.closed {
		q.start(next)
	}
	q.mu.Unlock()
	q.saveEnd(done)
}

// endTries is how many times saveEnd writes a job's end, about two and a
// half minutes apart from first to last.
const endTries = 10

// saveEnd writes the end of a job to the shared store, and it must land:
// a job whose end is not there looks, once its lease runs out, like one
// its replica left running, which another would carry on. So a write that
// fails is tried again, from the second try with the job's bare record (its
// last events only, its error cut), and the job's lease is renewed
// meanwhile (it stays in closing). It gives up only after endTries, or
// sooner when the hook is stopping past its grace; another replica that
// then carries the job on finds its deploy's end in ECS (and its
// pre-deploy command's), and deploys nothing again.
func (q *Queue) saveEnd(j Job) {
	if q.shared == nil {
		return
	}
	defer func() {
		q.mu.Lock()
		delete(q.closing, j.ID)
		q.mu.Unlock()
	}()
	wait := time.Second
	for try := 1; ; try++ {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(q.ctx), 10*time.Second)
		err := q.shared.PutJob(ctx, j, q.lockTTL)
		cancel()
		switch {
		case err == nil:
			return
		case errors.Is(err, ErrNotHolder):
			q.log.Warn("another replica took the job over before its end was saved", "job", j.ID, "error", err)
			return
		case try == endTries:
			q.log.Error("could not save the end of the job: another replica may carry it on once its lease runs out, and finds its end in ECS", "job", j.ID, "state", j.State, "error", err)
			return
		}
		q.log.Warn("could not save the end of the job; trying again with its bare record", "job", j.ID, "try", try, "error", err)
		j = bare(j)
		select {
		case <-time.After(wait):
		case <-q.ctx.Done():
			if try >= 3 {
				q.log.Error("could not save the end of the job before the hook stopped", "job", j.ID, "state", j.State, "error", err)
				return
			}
		}
		wait = min(2*wait, 30*time.Second)
	}
}

// bareEvents is how many of its last events a job's bare record keeps.
const bareEvents = 20

// bare is the least of a finished job that says how it ended: its last
// events and the start of its error.
func bare(j Job) Job {
	if n := len(j.Events); n > bareEvents {
		j.Events = append([]string{fmt.Sprintf("(%d earlier events were left out to save the job's end)", n-bareEvents)}, j.Events[n-bareEvents:]...)
	}
	if len(j.Error) > MaxEventBytes {
		j.Error = boundEvent(j.Error)
	}
	return j
}

// guard is a running job's Guard: it renews the job's lease under token
// before each change its deploy makes. Another holder fails it; so does a
// store that could not be reached for half a lease since the last renewal
// (until then the lease still holds well past the change).
func (q *Queue) guard(job *Job, token string) func(context.Context) error {
	return func(ctx context.Context) error {
		err := q.shared.RenewJob(ctx, job.ID, token, q.lockTTL)
		now := q.now()
		q.mu.Lock()
		defer q.mu.Unlock()
		switch {
		case err == nil:
			job.renewed = now
			return nil
		case errors.Is(err, ErrNotHolder):
			return err
		case now.Sub(job.renewed) >= q.lockTTL/2:
			return fmt.Errorf("%w: renewing the lease on job %s failed for %v: %v", ErrLostHold, job.ID, now.Sub(job.renewed).Round(time.Second), err)
		}
		q.log.Warn("could not renew the lease on a job before a change; its last renewal still holds", "job", job.ID, "error", err)
		return nil
	}
}

// ErrLostHold stops a job whose replica could not keep its hold on the
// target: another replica may deploy it now, and two must never at once.
var ErrLostHold = errors.New("lost the hold on the target in the shared store: stopped so that two replicas never deploy it at once")

// lockTarget waits until this replica holds the job's target in the shared
// store, and keeps holding it until release. The job runs under the context
// it returns, which ends, with ErrLostHold as its cause, if the hold is
// lost: another replica took it, or renewals failed until it could have
// lapsed. Without a store it returns at once.
func (q *Queue) lockTarget(jobCtx context.Context, job *Job) (_ context.Context, release func(), err error) {
	if q.shared == nil {
		return jobCtx, func() {}, nil
	}
	said := false
	for {
		ok, err := q.shared.Lock(jobCtx, job.Target, q.holder, q.lockTTL, q.margin())
		if err != nil {
			return nil, nil, err
		}
		if ok {
			break
		}
		if !said {
			said = true
			q.mu.Lock()
			job.Events = append(job.Events, "waiting for another replica's deploy of "+job.Target)
			q.mu.Unlock()
		}
		select {
		case <-jobCtx.Done():
			return nil, nil, fmt.Errorf("waiting for target %s: %w", job.Target, jobCtx.Err())
		case <-time.After(q.lockWait):
		}
	}
	ctx, stopJob := context.WithCancelCause(jobCtx)
	stop := make(chan struct{})
	renewed := make(chan struct{})
	go func() {
		defer close(renewed)
		held := time.Now()
		for {
			select {
			case <-stop:
				return
			case <-time.After(q.heartbeat):
			}
			ok, err := q.shared.Lock(q.ctx, job.Target, q.holder, q.lockTTL, q.margin())
			switch {
			case err == nil && ok:
				held = time.Now()
			case err == nil:
				stopJob(fmt.Errorf("%w: another replica holds %s", ErrLostHold, job.Target))
				return
			case time.Since(held) >= q.lockTTL*2/3:
				stopJob(fmt.Errorf("%w: renewing it failed for %v: %v", ErrLostHold, time.Since(held).Round(time.Second), err))
				return
			default:
				q.log.Warn("could not renew the hold on the target; trying again", "target", job.Target, "error", err)
			}
		}
	}()
	return ctx, func() {
		close(stop)
		<-renewed
		stopJob(nil)
		if err := q.shared.Unlock(context.Background(), job.Target, q.holder); err != nil {
			q.log.Warn("could not give the target up", "target", job.Target, "error", err)
		}
	}, nil
}

// finish ends a job; q.mu is held. Its hooks run outside the lock.
func (q *Queue) finish(job *Job, state State, taskDefinition, msg string) {
	q.m.jobState(job.State, state)
	job.State, job.Finished, job.TaskDefinition, job.Error = state, q.now(), taskDefinition, msg
	if q.next[job.Target] == job {
		delete(q.next, job.Target)
	}
	snapshot := q.copy(job)
	q.log.Info("job finished", "job", job.ID, "target", job.Target, "sha", job.SHA, "state", state, "error", msg)
	if state == StateSuperseded {
		return // it never started, so GitHub never heard of it running
	}
	for _, h := range job.hooks {
		q.wg.Add(1)
		go func() {
			defer q.wg.Done()
			// Not the queue's context: the last statuses of a shutdown go out.
			ctx, cancel := context.WithTimeout(context.WithoutCancel(q.ctx), 30*time.Second)
			defer cancel()
			h(ctx, snapshot)
		}()
	}
}

// trim forgets the oldest finished jobs past maxJobs; q.mu is held.
func (q *Queue) trim() {
	for len(q.order) > maxJobs {
		id := q.order[0]
		if j := q.jobs[id]; j != nil && !j.State.Done() {
			return
		}
		q.order = q.order[1:]
		if j := q.jobs[id]; j != nil && j.key != "" {
			delete(q.keys, j.key)
		}
		delete(q.jobs, id)
	}
}

// Shutdown stops taking jobs and waits for the running ones until ctx is
// done; then it cancels them. It returns the jobs it had to leave: those
// still queued, and those it cut short. Without a shared store they end
// cancelled and interrupted; with one they are handed back (their leases
// end now), and another replica carries them on.
func (q *Queue) Shutdown(ctx context.Context) []Job {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	done := make(chan struct{})
	go func() { q.wg.Wait(); close(done) }()
	var cut []string
	select {
	case <-done:
	case <-ctx.Done():
		q.mu.Lock()
		for _, j := range q.running {
			cut = append(cut, j.ID)
		}
		q.mu.Unlock()
		q.cancel()
		<-done
	}
	q.cancel()
	q.mu.Lock()
	var left, dirty []Job
	var handBack []*Job
	for _, id := range q.order {
		j := q.jobs[id]
		if j.State == StateQueued && q.shared != nil {
			// Another replica runs it: the table is the queue.
			handBack = append(handBack, j)
			left = append(left, q.copy(j))
			continue
		}
		if j.State == StateQueued {
			q.finish(j, StateCancelled, "", "cancelled: the deploy hook stopped before it ran this job; nothing was deployed (send it again)")
			dirty = append(dirty, q.copy(j))
		}
		if j.State == StateCancelled || slices.Contains(cut, id) {
			left = append(left, q.copy(j))
		}
	}
	q.mu.Unlock()
	q.save(context.Background(), dirty...)
	for _, j := range handBack {
		q.handBack(j, "the deploy hook stopped before it ran this job")
	}
	q.wg.Wait() // the statuses of the jobs just ended
	<-q.tended
	if q.shared != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := q.shared.Deregister(ctx, q.holder, q.replicaToken); err != nil {
			q.log.Warn("could not give the replica id up; it frees once its lease runs out", "replica", q.holder, "error", err)
		}
	}
	return left
}

// serviceNow says what the job's service runs, as the runner reads it,
// for a job cut short.
func (q *Queue) serviceNow(j Job) string {
	in, ok := q.runner.(Interrupter)
	if !ok {
		return "what the service runs now was not read: see the deploy-action status command"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return in.Interrupted(ctx, j)
}

func newID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return "job_" + hex.EncodeToString(b)
}
