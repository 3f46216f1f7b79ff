package action

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/autonote/deploy-action/internal/ecrimage"
	"github.com/autonote/deploy-action/internal/ecsdeploy"
	"github.com/autonote/deploy-action/internal/hookapi"
	"github.com/autonote/deploy-action/internal/stdwebhook"
)

// viaHook sends a signed deploy request to the deploy hook instead of
// calling ECS, then follows the job and reports it as if it had run here.
func (r *runner) viaHook(ctx context.Context, rep Report) (Report, error) {
	in := r.in
	secrets, err := stdwebhook.ParseSecrets(in.WebhookSecret)
	if err != nil || len(secrets) == 0 {
		return rep, fmt.Errorf("input webhook-secret: %v", err)
	}
	secret := secrets[0]
	sha := in.Tag
	if in.Command == CommandRollback {
		sha = in.SHA
	}
	base := strings.TrimSuffix(in.WebhookURL, "/")
	// No redirect is followed: it would carry the signed headers and body
	// elsewhere, https to http too.
	client := &http.Client{Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	start := r.opts.now()
	res := &ecsdeploy.Result{Status: ecsdeploy.StatusFailed, Start: start, Watched: true}
	rep.Result = res

	r.log.Phase("deploy hook: request")
	body, _ := json.Marshal(hookapi.DeployRequest{Target: in.Environment, SHA: sha})
	var accepted hookapi.Accepted
	if err := r.hookCall(ctx, client, secret, http.MethodPost, base+"/v1/deployments", body, &accepted); err != nil {
		return rep, fmt.Errorf("send the deploy request to %s: %w", base, err)
	}
	if !isJobID(accepted.ID) {
		return rep, fmt.Errorf("the deploy hook at %s answered with %q for a job id, which is not one: check webhook-url", base, accepted.ID[:min(len(accepted.ID), 80)])
	}
	r.a.Infof("deploy hook took job %s: %s to %s", accepted.ID, sha, in.Environment)

	r.log.Phase("deploy hook: job")
	deadline := start.Add(in.Timeout)
	shown := 0
	poll := r.opts.polling.Average
	for {
		var job hookapi.Job
		if err := r.hookCall(ctx, client, secret, http.MethodGet, base+"/v1/deployments/"+accepted.ID, nil, &job); err != nil {
			return rep, fmt.Errorf("follow job %s: %w", accepted.ID, err)
		}
		if err := checkJob(job); err != nil {
			return rep, fmt.Errorf("follow job %s: %w", accepted.ID, err)
		}
		for _, e := range job.Events[min(shown, len(job.Events)):] {
			r.a.Infof("%s", plain(e)) // the hook's words: never a command
		}
		shown = len(job.Events)
		if job.State.Done() {
			res.TaskDefinitionARN, res.DeploymentID = job.TaskDefinition, job.DeploymentID
			res.PreviousTaskDefinitionARN, res.URL = job.PreviousTaskDefinition, job.URL
			if img, ok := imageOf(job.Image, job.Digest); ok {
				rep.setImage(img)
			}
			switch job.State {
			case hookapi.StateSucceeded:
				res.Status = ecsdeploy.StatusSucceeded
				return rep, nil
			case hookapi.StateRolledBack:
				res.Status = ecsdeploy.StatusRolledBack
				r.log.PhaseFailed() // the rollout failed; the rollback did its job
			}
			return rep, fmt.Errorf("job %s %s: %s", job.ID, job.State, job.Error)
		}
		if !r.opts.now().Before(deadline) {
			return rep, fmt.Errorf("job %s still %s after %v: the hook goes on with it; follow it at %s", job.ID, job.State, in.Timeout, accepted.StatusURL)
		}
		select {
		case <-ctx.Done():
			return rep, fmt.Errorf("follow job %s: %w (the hook goes on with it)", job.ID, ctx.Err())
		case <-time.After(poll):
		}
	}
}

// hookCall makes one signed call to the deploy hook and decodes its answer.
func (r *runner) hookCall(ctx context.Context, client *http.Client, secret stdwebhook.Secret, method, url string, body []byte, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	secret.SignRequest(req, fmt.Sprintf("msg_%s_%d", r.a.Getenv("GITHUB_RUN_ID"), time.Now().UnixNano()), time.Now(), body)
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, hookapi.MaxJobBytes+1))
	if err != nil {
		return err
	}
	if len(raw) > hookapi.MaxJobBytes {
		return fmt.Errorf("%s %s: the hook's answer is over %d KiB, more than a job of this hook's version takes: upgrade the hook", method, url, hookapi.MaxJobBytes>>10)
	}
	if resp.StatusCode >= 300 {
		var e hookapi.Error
		_ = json.Unmarshal(raw, &e)
		return fmt.Errorf("%s: %s", resp.Status, e.Error)
	}
	return json.Unmarshal(raw, out)
}

// isJobID reports whether a hook's job id has the shape of one: it goes
// into the status URL and the log.
func isJobID(id string) bool {
	return id != "" && len(id) <= 64 && strings.Trim(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") == ""
}

// imageOf reads a hook's registry/repository:tag back into an image.
func imageOf(uri, digest string) (ecrimage.Image, bool) {
	host, rest, ok := strings.Cut(uri, "/")
	i := strings.LastIndex(rest, ":")
	if !ok || i < 0 || digest == "" {
		return ecrimage.Image{}, false
	}
	return ecrimage.Image{Registry: host, Repository: rest[:i], Tag: rest[i+1:], Digest: digest}, true
}
