package action

import (
	"cmp"
	"encoding/json"
	"fmt"
	"path"
	"strings"
	"time"
	"unicode"

	"github.com/autonote/deploy-action/internal/bootstrap"
	"github.com/autonote/deploy-action/internal/ecrimage"
	"github.com/autonote/deploy-action/internal/ecsdeploy"
)

// Report is what one run of a command did: each command returns one, and
// the outputs and the job summary are rendered from it alone.
type Report struct {
	Command  Command
	Service  string
	Cluster  string
	Image    string // the image deployed, or "" when none is known
	Digest   string
	Push     string // what the push sent, if there was one
	Result   *ecsdeploy.Result
	Boot     *bootRun                 // command bootstrap
	State    *ecsdeploy.ServiceStatus // command status
	Phases   []ecsdeploy.Phase
	Start    time.Time
	End      time.Time
	Err      error
	DryRun   bool
	Rendered string
}

func (r *Report) setImage(img ecrimage.Image) {
	r.Image, r.Digest = "", img.Digest
	if img.Tag != "" {
		r.Image = img.URI()
	}
}

// status is the run's status output.
func (r Report) status() ecsdeploy.Status {
	switch {
	case r.Boot != nil:
		return r.Boot.status(r.Err)
	case r.State != nil && r.Err == nil:
		return ecsdeploy.StatusUnchanged
	case r.Result == nil:
		return ecsdeploy.StatusFailed
	}
	return r.Result.Status
}

// Outputs are the step's outputs, name and value.
func (r Report) Outputs() [][2]string {
	out := [][2]string{{"status", string(r.status())}}
	if b := r.Boot; b != nil {
		raw, _ := json.Marshal(b.outputs)
		return append(out, [2]string{"bootstrap", string(raw)}, [2]string{"changes", fmt.Sprint(bootstrap.Changes(b.steps))})
	}
	if r.Image != "" {
		out = append(out, [2]string{"image-uri", r.Image}, [2]string{"image-digest", r.Digest})
	}
	if res := r.Result; res != nil {
		out = append(out,
			[2]string{"task-definition-arn", res.TaskDefinitionARN},
			[2]string{"previous-task-definition-arn", res.PreviousTaskDefinitionARN},
			[2]string{"deployment-id", res.DeploymentID})
	}
	if st := r.State; st != nil {
		out = append(out, [2]string{"task-definition-arn", st.TaskDefinitionARN})
	}
	if u := r.url(); u != "" {
		out = append(out, [2]string{"url", u})
	}
	if res := r.Result; res != nil && res.PreDeploy != nil && res.PreDeploy.ExitCode != nil {
		out = append(out, [2]string{"pre-deploy-exit-code", fmt.Sprint(*res.PreDeploy.ExitCode)})
	}
	return out
}

// url is where the API answers now, when known.
func (r Report) url() string {
	switch {
	case r.State != nil:
		return r.State.URL
	case r.Result != nil && r.Result.Status == ecsdeploy.StatusSucceeded:
		return r.Result.URL
	}
	return ""
}

var statusIcon = map[ecsdeploy.Status]string{
	ecsdeploy.StatusSucceeded:  "✅",
	ecsdeploy.StatusStarted:    "🚀",
	ecsdeploy.StatusUnchanged:  "⏸️",
	ecsdeploy.StatusRolledBack: "↩️",
	ecsdeploy.StatusFailed:     "❌",
}

// Summary renders the report as the Markdown of a job summary: a table a
// person reads at a glance and a Mermaid timeline of the phases.
func Summary(r Report) string {
	if r.State != nil {
		return statusSummary(r)
	}
	res := r.Result
	if res == nil {
		res = &ecsdeploy.Result{Status: ecsdeploy.StatusFailed}
	}
	var b strings.Builder
	title := fmt.Sprintf("%s %s", strings.ToUpper(string(r.Command[:1]))+string(r.Command[1:]), escape(r.Service))
	if r.DryRun {
		title += " (dry run)"
	}
	fmt.Fprintf(&b, "## %s %s: %s\n\n", statusIcon[res.Status], title, res.Status)
	b.WriteString("| | |\n|---|---|\n")
	row := func(k, v string) {
		if v != "" {
			fmt.Fprintf(&b, "| %s | %s |\n", k, v)
		}
	}
	row("Cluster", code(r.Cluster))
	row("Image", code(r.Image))
	row("Digest", code(r.Digest))
	row("Push", r.Push)
	row("Container", code(res.Container))
	row("Previous revision", code(revision(res.PreviousTaskDefinitionARN)))
	if !res.StableSince.IsZero() && res.Status != ecsdeploy.StatusUnchanged {
		row("Rollback target", fmt.Sprintf("%s, live since %s", code(revision(res.PreviousTaskDefinitionARN)), res.StableSince.UTC().Format("2006-01-02 15:04:05 UTC")))
	}
	row("Revision now running", code(revision(res.TaskDefinitionARN)))
	row("Deployment", code(res.DeploymentID))
	if r.url() != "" {
		row("URL", escapeURL(r.url()))
	}
	if p := res.PreDeploy; p != nil {
		row("Pre-deploy command", preDeployWords(p))
	}
	if n := len(res.Deregistered); n > 0 {
		row("Old revisions deregistered", fmt.Sprintf("%d, the oldest %s", n, code(revision(res.Deregistered[n-1]))))
	}
	row("Duration", r.End.Sub(r.Start).Round(100*time.Millisecond).String())
	result := string(res.Status)
	if res.Status == ecsdeploy.StatusStarted {
		result += " (the rollout was not watched: wait is false; ECS's circuit breaker, if the service has one, rolls a failure back)"
	}
	row("Result", result)
	if res.Strategy != "" {
		row("Strategy", escape(res.Strategy)+" (traffic shifted by ECS; each lifecycle stage is in the timeline)")
	}
	if res.ReturnedAt != "" {
		row("Sent back at", code(res.ReturnedAt)+": traffic went back to the old tasks, which never stopped")
	}
	for i, reason := range ecsdeploy.Reasons(res.Stopped) {
		k := ""
		if i == 0 {
			k = "Stopped reasons"
		}
		fmt.Fprintf(&b, "| %s | %s |\n", k, escape(reason))
	}
	for i, a := range res.Alarms {
		k := ""
		if i == 0 {
			k = "Alarms in ALARM"
		}
		fmt.Fprintf(&b, "| %s | %s: %s |\n", k, code(a.Name), escape(a.Reason))
	}
	if r.Err != nil {
		row("Error", escape(r.Err.Error()))
	}
	if len(r.Phases) > 0 {
		b.WriteString("\n```mermaid\ngantt\n    title Timeline\n    dateFormat x\n    axisFormat %M:%S\n")
		for i, p := range r.Phases {
			tag := "done"
			if p.Failed {
				tag = "crit"
			}
			start := p.Start.Sub(r.Start).Milliseconds()
			end := max(p.End.Sub(r.Start).Milliseconds(), start+1)
			fmt.Fprintf(&b, "    %s (%s) :%s, p%d, %d, %d\n", ganttName(p.Name), p.End.Sub(p.Start).Round(10*time.Millisecond), tag, i, start, end)
		}
		writeShares(&b, r.Start, res)
		b.WriteString("```\n")
	}
	if t := firstWithLines(res.Stopped); t != nil {
		fmt.Fprintf(&b, "\n<details open><summary>Last %d log lines of stopped task %s</summary>\n\n```text\n", len(t.Last), escape(path.Base(t.TaskARN)))
		for _, l := range t.Last {
			b.WriteString(strings.ReplaceAll(oneLine(l), "```", "'''") + "\n")
		}
		b.WriteString("```\n")
		if strings.HasPrefix(t.LogURL, "https://") {
			fmt.Fprintf(&b, "\n[The whole log stream](%s) (%s).\n", t.LogURL, code(t.LogGroup+" "+t.LogStream))
		}
		b.WriteString("</details>\n")
	}
	if p := res.PreDeploy; p != nil && len(p.Last) > 0 && (p.ExitCode == nil || *p.ExitCode != 0) {
		fmt.Fprintf(&b, "\n<details><summary>Last %d log lines of the pre-deploy task</summary>\n\n```text\n", len(p.Last))
		for _, l := range p.Last {
			b.WriteString(strings.ReplaceAll(oneLine(l), "```", "'''") + "\n")
		}
		b.WriteString("```\n</details>\n")
	}
	if d := res.Diff; len(d) > 0 {
		open := ""
		if res.DryRun {
			open = " open"
		}
		fmt.Fprintf(&b, "\n<details%s><summary>Changes against the running revision</summary>\n\n```diff\n", open)
		for _, l := range d {
			b.WriteString(strings.ReplaceAll(oneLine(l), "```", "'''") + "\n")
		}
		b.WriteString("```\n</details>\n")
	}
	if r.Rendered != "" {
		fmt.Fprintf(&b, "\n<details><summary>Task definition that would be registered</summary>\n\n```json\n%s\n```\n</details>\n", r.Rendered)
	}
	return b.String()
}

// preDeployWords says in a few words how the pre-deploy command ended.
func preDeployWords(p *ecsdeploy.TaskRun) string {
	var s string
	switch {
	case p.ExitCode != nil:
		s = fmt.Sprintf("exit code %d", *p.ExitCode)
	case p.Reason != "":
		s = escape(p.Reason)
	default:
		s = "did not finish"
	}
	return s + fmt.Sprintf(" in %s, %d log lines, task %s", p.Duration.Round(100*time.Millisecond), p.Lines, code(revision(p.TaskARN)))
}

// statusSummary renders what command status read: what runs, where, and
// the last deployments.
func statusSummary(r Report) string {
	st := r.State
	var b strings.Builder
	fmt.Fprintf(&b, "## %s %s\n\n| | |\n|---|---|\n", escape(r.Service), rolloutWord(st.Rollout))
	row := func(k, v string) {
		if v != "" {
			fmt.Fprintf(&b, "| %s | %s |\n", k, v)
		}
	}
	row("Cluster", code(st.Cluster))
	row("Revision", code(revision(st.TaskDefinitionARN)))
	row("Image", code(st.Image))
	row("Commit", escape(st.Commit))
	if !st.Since.IsZero() {
		row("Deployed", st.Since.UTC().Format("2006-01-02 15:04:05 UTC")+fmt.Sprintf(" (%s ago)", r.End.Sub(st.Since).Round(time.Second)))
	}
	row("Tasks", fmt.Sprintf("%d running of %d desired, %d pending", st.Running, st.Desired, st.Pending))
	row("URL", escapeURL(st.URL))
	if len(st.Addresses) > 1 {
		row("Addresses", escape(strings.Join(st.Addresses, ", ")))
	}
	row("Earlier build", escape(st.Earlier))
	row("Drift", escape(st.Drift))
	for _, n := range st.Notes {
		row("Not read", escape(n))
	}
	if len(st.Deployments) > 0 {
		b.WriteString("\n### Last deployments\n\n| Started | Revision | Image | Outcome |\n|---|---|---|---|\n")
		for _, d := range st.Deployments {
			outcome := d.Status
			if d.ReturnedTo != "" {
				outcome = "returned to " + code(revision(d.ReturnedTo)) + " by the next deployment (rolled back)"
			}
			if d.Reason != "" {
				outcome += ": " + escape(d.Reason)
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", d.Started.UTC().Format("2006-01-02 15:04:05"), code(revision(d.TaskDefinitionARN)), code(imageTag(d.Image)), outcome)
		}
	}
	return b.String()
}

func rolloutWord(state string) string {
	switch state {
	case "COMPLETED":
		return "✅ stable"
	case "IN_PROGRESS":
		return "🚀 rolling out"
	case "FAILED":
		return "❌ last rollout failed"
	}
	return state
}

// imageTag is the tag part of an image reference.
func imageTag(image string) string {
	if i := strings.LastIndex(image, ":"); i >= 0 && !strings.Contains(image[i:], "/") {
		return image[i+1:]
	}
	return image
}

// writeShares adds to the timeline, for a deployment that shifted
// traffic, a section of the share of production the new tasks had, from
// the stage at which it began to the next change.
func writeShares(b *strings.Builder, start time.Time, res *ecsdeploy.Result) {
	type span struct {
		share      int
		start, end time.Time
	}
	var spans []span
	for _, st := range res.Stages {
		if !st.Weighed {
			continue
		}
		end := cmp.Or(st.End, res.End)
		if n := len(spans); n > 0 && spans[n-1].share == st.Production {
			spans[n-1].end = end
			continue
		}
		spans = append(spans, span{st.Production, st.Start, end})
	}
	if len(spans) == 0 {
		return
	}
	b.WriteString("    section production on the new tasks\n")
	for i, sp := range spans {
		from := sp.start.Sub(start).Milliseconds()
		fmt.Fprintf(b, "    %d %% :s%d, %d, %d\n", sp.share, i, from, max(sp.end.Sub(start).Milliseconds(), from+1))
	}
}

// ganttName writes a phase name as a Mermaid gantt task name: a colon
// would end the name early, so it and the characters Mermaid reads as
// syntax are written as Mermaid's entity codes, which it draws as
// themselves ("push oci:demo" stays "push oci:demo").
func ganttName(s string) string { return ganttEscapes.Replace(oneLine(s)) }

var ganttEscapes = strings.NewReplacer("#", "#35;", ":", "#58;", ";", "#59;")

// revision is family:revision from a task definition ARN.
func revision(arn string) string {
	if i := strings.LastIndex(arn, "/"); i >= 0 {
		return arn[i+1:]
	}
	return arn
}

// escape is text from outside (an ECS reason, a hook's error, an app's
// answer) as the plain text of a table cell: on one line, and every
// character Markdown or HTML would read as syntax escaped with a
// backslash, so that no heading, link, image, emphasis, tag or new cell
// comes out of it.
func escape(s string) string {
	var b strings.Builder
	for _, c := range oneLine(s) {
		if strings.ContainsRune("\\`*_[]<>|#!~&", c) {
			b.WriteByte('\\')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// code is text from outside as a code span in a table cell: on one line,
// between more backticks than it holds in a row, its pipes escaped (GFM
// ends a cell at one even in code).
func code(s string) string {
	if s == "" {
		return ""
	}
	s = strings.ReplaceAll(oneLine(s), "|", `\|`)
	longest := 0
	for i := 0; i < len(s); {
		j := i
		for j < len(s) && s[j] == '`' {
			j++
		}
		longest = max(longest, j-i)
		i = max(j, i+1)
	}
	fence := strings.Repeat("`", longest+1)
	if strings.HasPrefix(s, "`") || strings.HasSuffix(s, "`") {
		s = " " + s + " "
	}
	return fence + s + fence
}

// escapeURL is a URL of the deploy (checked when it was read) as a table
// cell: on one line, its pipes escaped, still a link.
func escapeURL(u string) string { return strings.ReplaceAll(oneLine(u), "|", "%7C") }

// oneLine is text from outside on one line: every line break and control
// character a space.
func oneLine(s string) string {
	return strings.Map(func(c rune) rune {
		if !unicode.IsPrint(c) {
			return ' '
		}
		return c
	}, s)
}

// firstWithLines is the stopped task whose last log lines were read.
func firstWithLines(tasks []ecsdeploy.StoppedTask) *ecsdeploy.StoppedTask {
	for i := range tasks {
		if len(tasks[i].Last) > 0 {
			return &tasks[i]
		}
	}
	return nil
}
