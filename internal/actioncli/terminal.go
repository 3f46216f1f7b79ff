package actioncli

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	deployaction "github.com/autonote/deploy-action"
	"github.com/autonote/deploy-action/internal/action"
	"github.com/autonote/deploy-action/internal/cli"
)

// commands are what the binary runs from a terminal: the action's
// commands, with flags named as its inputs.
var commands = [...]string{"deploy", "rollback", "redeploy", "status", "bootstrap"}

const usage = `usage: deploy-action COMMAND [-input value ...]

Runs the action from a terminal, with the credentials of the shell (the
SDK's default chain: AWS_PROFILE, AWS_ACCESS_KEY_ID, SSO...). Each flag is
the action input of the same name (a boolean alone means true).

Commands:
  deploy      roll the service onto the image tagged -tag (or push -image first)
  rollback    return to the build of -sha (a commit SHA, or 7+ of its characters)
  redeploy    new tasks of the revision the service runs (after rotating a secret)
  status      what runs now, where it answers, the last deployments; changes nothing
  bootstrap   make the AWS baseline (-dry-run: only plan it)

Examples:
  deploy-action status -aws-region us-east-1
  deploy-action deploy -tag 3484a3fb2a1c1b4dbb5d1a3c1f7c0b5e0c2e6f1a
  deploy-action rollback -sha 3484a3f

deploy-action COMMAND -h lists every flag with its default.
`

// outputFormat is where terminalEnv leaves status's -output for Run.
const outputFormat = "DEPLOY_ACTION_TERMINAL_OUTPUT"

// secretFlags are the inputs whose values are secrets: in a terminal they
// come from this environment variable or a file (-NAME-file), never from
// the command line.
var secretFlags = map[string]string{"github-token": "GITHUB_TOKEN", "webhook-secret": "WEBHOOK_SECRET"}

// terminalEnv reads a command line into the environment the action reads
// its inputs from: INPUT_<NAME> for each flag given, the process's own
// environment for everything else. done is true when -h or -version has
// been answered.
func terminalEnv(args []string, getenv func(string) string, stdout io.Writer, version string) (env func(string) string, done bool, err error) {
	command := args[0]
	if !slices.Contains(commands[:], command) {
		return nil, false, fmt.Errorf("command %q is not known: use one of %s (deploy-action -h says what each does)", command, strings.Join(commands[:], ", "))
	}
	var meta struct {
		Inputs map[string]struct {
			Description string `yaml:"description"`
			Default     string `yaml:"default"`
		} `yaml:"inputs"`
	}
	if err := yaml.Unmarshal(deployaction.ActionYML, &meta); err != nil {
		return nil, false, fmt.Errorf("read action.yml: %w", err)
	}
	for _, a := range args[1:] {
		name, _, _ := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if env, ok := secretFlags[name]; ok && strings.HasPrefix(a, "-") {
			// Not repeated: the value is the secret.
			return nil, false, fmt.Errorf("-%s: secret values never come from the command line, where shells and process lists keep them: set %s in the environment, or give -%s-file FILE", name, env, name)
		}
	}
	fs := flag.NewFlagSet("deploy-action "+command, flag.ContinueOnError)
	files := map[string]*string{}
	var output *string
	if command == "status" {
		output = fs.String("output", "text", "text (a view to read) or json (for scripts: only the JSON, or the error, is printed)")
	}
	for _, name := range slices.Sorted(maps.Keys(meta.Inputs)) {
		in := meta.Inputs[name]
		if name == "command" {
			continue
		}
		if !action.Uses(action.Command(command), name) {
			continue // another command's: -h lists this command's flags alone
		}
		if env, ok := secretFlags[name]; ok {
			files[name] = fs.String(name+"-file", "", fmt.Sprintf("a file holding %s (or set %s); never the value itself on the command line", name, env))
			continue
		}
		// flag's usage takes a `quoted` word as the value's name: the
		// descriptions quote inputs and permissions, not value names.
		desc := strings.ReplaceAll(in.Description, "`", "")
		if in.Default == "true" || in.Default == "false" {
			fs.Bool(name, in.Default == "true", desc)
			continue
		}
		fs.String(name, in.Default, desc)
	}
	if done, err := cli.Parse(fs, args[1:], version, "usage: deploy-action "+command+" [-input value ...]\n\nFlags (the action's inputs):", stdout); done || err != nil {
		return nil, done, err
	}
	if fs.NArg() > 0 {
		return nil, false, fmt.Errorf("unexpected argument %q: inputs are flags, e.g. -sha %s", fs.Arg(0), fs.Arg(0))
	}
	set := map[string]string{"INPUT_COMMAND": command}
	fs.Visit(func(f *flag.Flag) { set["INPUT_"+strings.ToUpper(f.Name)] = f.Value.String() })
	if output != nil {
		delete(set, "INPUT_OUTPUT")
		if *output != "text" && *output != "json" {
			return nil, false, fmt.Errorf("flag -output %q: give text or json", *output)
		}
		set[outputFormat] = *output
	}
	for name, env := range secretFlags {
		key := "INPUT_" + strings.ToUpper(name)
		delete(set, key+"-FILE")
		file := ""
		if f := files[name]; f != nil {
			file = *f
		}
		switch {
		case !action.Uses(action.Command(command), name):
		case file != "":
			raw, err := os.ReadFile(file)
			if err != nil {
				return nil, false, fmt.Errorf("-%s-file: %w", name, err)
			}
			set[key] = strings.TrimSpace(string(raw))
		case getenv(env) != "":
			set[key] = getenv(env)
		}
	}
	return func(k string) string {
		if v, ok := set[k]; ok {
			return v
		}
		if strings.HasPrefix(k, "INPUT_") || k == "GITHUB_OUTPUT" || k == "GITHUB_STEP_SUMMARY" {
			return "" // a terminal has no runner files, and inputs come from flags only
		}
		return getenv(k)
	}, false, nil
}

// terminal turns the workflow commands the action prints into lines a
// person reads: groups become headings, annotations get their level, and
// what only a runner uses (masks) is dropped.
type terminal struct {
	w   io.Writer
	buf bytes.Buffer
	// errorsOnly passes the error annotations alone (status -output
	// json: a script reads the JSON, or the error).
	errorsOnly bool
}

func (t *terminal) Write(p []byte) (int, error) {
	t.buf.Write(p)
	for {
		i := bytes.IndexByte(t.buf.Bytes(), '\n')
		if i < 0 {
			return len(p), nil
		}
		line := string(t.buf.Next(i + 1))
		if t.errorsOnly && !strings.HasPrefix(line, "::error") {
			continue
		}
		if out, ok := readable(strings.TrimSuffix(line, "\n")); ok {
			if _, err := fmt.Fprintln(t.w, out); err != nil {
				return 0, err
			}
		}
	}
}

func readable(line string) (string, bool) {
	if !strings.HasPrefix(line, "::") {
		return line, true
	}
	cmd, msg, ok := strings.Cut(line[2:], "::")
	if !ok {
		return line, true
	}
	name, _, _ := strings.Cut(cmd, " ")
	msg = strings.NewReplacer("%25", "%", "%0D", "\r", "%0A", "\n").Replace(msg)
	switch name {
	case "group":
		return "\n== " + msg, true
	case "endgroup", "add-mask", "debug":
		return "", false
	case "error", "warning", "notice":
		return name + ": " + msg, true
	}
	return line, true
}
