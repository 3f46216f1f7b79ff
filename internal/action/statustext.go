package action

import (
	"cmp"
	"fmt"
	"path"
	"strings"
	"time"

	"github.com/autonote/deploy-action/internal/ecsdeploy"
)

// statusText is status as a person reads it in a terminal: what runs, its
// tasks and address, then the last deployments, one line each. Text from
// AWS is data: one line each (a line break or a leading "::" cannot make a
// workflow command or a fake line of its own).
func statusText(st *ecsdeploy.ServiceStatus) string {
	var b strings.Builder
	when := func(t time.Time) string {
		if t.IsZero() {
			return "-"
		}
		return t.UTC().Format("2006-01-02 15:04:05 UTC")
	}
	line := func(k, v string) {
		if v != "" {
			fmt.Fprintf(&b, "  %-12s %s\n", k, plain(v))
		}
	}
	fmt.Fprintf(&b, "service %s in cluster %s\n", plain(st.Service), plain(st.Cluster))
	line("revision", path.Base(st.TaskDefinitionARN))
	line("image", st.Image)
	line("commit", st.Commit)
	line("rollout", strings.TrimSpace(rolloutWord(st.Rollout)+", since "+when(st.Since)))
	line("tasks", fmt.Sprintf("%d running, %d pending, %d desired", st.Running, st.Pending, st.Desired))
	line("url", st.URL)
	line("earlier", st.Earlier)
	line("drift", st.Drift)
	for _, n := range st.Notes {
		line("not read", n)
	}
	if len(st.Tasks) > 0 {
		b.WriteString("running tasks\n")
		for _, t := range st.Tasks {
			fmt.Fprintf(&b, "  %-12s %-9s %-11s %-21s started %s\n", t.ID[:min(len(t.ID), 12)], cmp.Or(t.Health, "-"), cmp.Or(t.Zone, "-"), cmp.Or(t.Address, "-"), when(t.Started))
		}
	}
	if len(st.Deployments) > 0 {
		b.WriteString("last deployments\n")
		for _, d := range st.Deployments {
			outcome := d.Status
			if d.ReturnedTo != "" {
				outcome = "returned to " + path.Base(d.ReturnedTo) + " by the next deployment (rolled back)"
			}
			if d.Reason != "" {
				outcome += ": " + d.Reason
			}
			fmt.Fprintf(&b, "  %s  %-28s %-12s %s\n", when(d.Started), path.Base(d.TaskDefinitionARN), shortTag(d.Image), plain(outcome))
		}
	}
	if len(st.Events) > 0 {
		b.WriteString("latest events\n")
		for _, e := range st.Events {
			fmt.Fprintf(&b, "  %s  %s\n", when(e.At), plain(e.Message))
		}
	}
	return strings.TrimRight(b.String(), "\n")
}

// shortTag is an image's tag, a commit SHA cut to 12 characters.
func shortTag(image string) string {
	tag := imageTag(image)
	if len(tag) == 40 {
		return tag[:12]
	}
	return tag
}
