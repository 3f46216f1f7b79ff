package deployhook

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"slices"

	"github.com/autonote/deploy-action/internal/ecsdeploy"
	"github.com/autonote/deploy-action/internal/hookapi"
)

// StatusReader reads what runs on a target. A Runner that is one answers
// GET /v1/targets with it; otherwise the answer holds the configuration.
type StatusReader interface {
	Status(ctx context.Context, name string, t Target) (*ecsdeploy.ServiceStatus, error)
}

// handleTargets answers a signed GET /v1/targets with what runs on each
// target the caller's secret opens, and nothing of the others.
func (s *Server) handleTargets() http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		r, k, cancel, ok := s.signedRead(w, r)
		if !ok {
			return
		}
		defer cancel()
		reader, _ := s.runner.(StatusReader)
		out := hookapi.Targets{Targets: []hookapi.TargetStatus{}}
		for _, name := range slices.Sorted(maps.Keys(s.config.Targets)) {
			if !s.keys.opens(k, name) {
				continue
			}
			t := s.config.Targets[name]
			ts := hookapi.TargetStatus{Name: name, Region: t.Region, Cluster: t.Cluster, Service: t.Service}
			if reader != nil {
				st, err := reader.Status(r.Context(), name, t)
				if err != nil {
					ts.Error = err.Error()
				} else {
					fillStatus(&ts, st)
				}
			}
			out.Targets = append(out.Targets, ts)
		}
		writeJSON(w, http.StatusOK, out)
	}
}

func fillStatus(ts *hookapi.TargetStatus, st *ecsdeploy.ServiceStatus) {
	ts.TaskDefinition, ts.Image, ts.Commit, ts.Since, ts.Rollout = st.TaskDefinitionARN, st.Image, st.Commit, st.Since, st.Rollout
	ts.Running, ts.Desired, ts.Pending, ts.URL, ts.Earlier, ts.Drift = st.Running, st.Desired, st.Pending, st.URL, st.Earlier, st.Drift
	for _, d := range st.Deployments {
		ts.Deployments = append(ts.Deployments, hookapi.DeploymentSummary{
			TaskDefinition: d.TaskDefinitionARN, Image: d.Image, Status: d.Status, Reason: d.Reason, Started: d.Started, Finished: d.Finished,
		})
	}
}

// Status reads what runs on target t through ECS (and EC2, for its URL).
func (e *ECSRunner) Status(ctx context.Context, _ string, t Target) (*ecsdeploy.ServiceStatus, error) {
	c, err := e.Clients(ctx, t.Region)
	if err != nil {
		return nil, err
	}
	d, err := c.Deployer()
	if err != nil {
		return nil, err
	}
	return d.Status(ctx, t.EngineTarget())
}

// Interrupted says what the job's service runs now, for a job the hook's
// shutdown cut short: ECS goes on with whatever rollout was under way.
func (e *ECSRunner) Interrupted(ctx context.Context, j Job) string {
	t, ok := e.Config.Targets[j.Target]
	if !ok {
		return "target " + j.Target + " is not in the config"
	}
	st, err := e.Status(ctx, j.Target, t)
	if err != nil {
		return "what the service runs could not be read: " + err.Error()
	}
	s := fmt.Sprintf("service %s runs %s (%s), rollout %s, %d of %d tasks running", t.Service, ecsdeploy.LastPart(st.TaskDefinitionARN), st.Image, st.Rollout, st.Running, st.Desired)
	if len(st.Deployments) > 0 && st.Deployments[0].Status == "IN_PROGRESS" {
		s += fmt.Sprintf("; ECS goes on rolling out %s", ecsdeploy.LastPart(st.Deployments[0].TaskDefinitionARN))
	}
	return s
}
