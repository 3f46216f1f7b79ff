package deployspec

import (
	"cmp"
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/autonote/deploy-action/internal/awsenv"
	"github.com/autonote/deploy-action/internal/ecsdeploy"
)

// Source is where one front end's settings come from: an action's inputs,
// a terminal's flags, a hook target's keys.
type Source interface {
	// Value is the text given for the setting; "" when none was.
	Value(s Setting) string
}

// SourceFunc is a Source from a function of the setting's name.
type SourceFunc func(name string) string

// Value calls f with the setting's name.
func (f SourceFunc) Value(s Setting) string { return f(s.Name) }

// Words names a setting as the person using a front end wrote it, for the
// start of an error: "input smoke-path", "flag -smoke-path",
// "target production: smoke-path".
type Words func(s Setting) string

// InputWords names settings as a workflow's inputs.
func InputWords(s Setting) string { return "input " + s.Name }

// FlagWords names settings as a terminal's flags.
func FlagWords(s Setting) string { return "flag -" + s.Name }

// HookWords names settings as keys of the deploy hook's target.
func HookWords(target string) Words {
	return func(s Setting) string { return "target " + target + ": " + s.Key() }
}

// Env is what a front end knows of where it runs, besides its settings.
type Env struct {
	// Region is AWS_REGION (or AWS_DEFAULT_REGION) where the front end runs,
	// the default of aws-region.
	Region string
}

// Parse reads and checks every deploy setting from src. Each error starts
// with the setting as words names it and says what it takes; none repeats
// a value that may be secret (env's, secrets' lines).
func Parse(src Source, words Words, env Env) (Spec, error) {
	p := parser{src: src, words: words, settings: map[string]Setting{}}
	for _, s := range Settings() {
		p.settings[s.Name] = s
	}
	sp := Spec{words: words}
	sp.Region = cmp.Or(p.text("aws-region"), env.Region)
	if sp.Region != "" {
		if err := awsenv.CheckRegion(sp.Region); err != nil {
			from := "AWS_REGION"
			if p.given("aws-region") != "" {
				from = p.name("aws-region")
			}
			return sp, fmt.Errorf("%s: %w", from, err)
		}
	}
	sp.Cluster = p.text("cluster")
	sp.Service = p.text("service")
	sp.Container = p.text("container-name")
	sp.Repository = p.text("ecr-repository")
	sp.Registry = p.text("registry")

	var err error
	if sp.Wait, err = p.boolean("wait"); err != nil {
		return sp, err
	}
	if sp.RollbackOnFailure, err = p.boolean("rollback-on-failure"); err != nil {
		return sp, err
	}
	if sp.Timeout, err = p.duration("timeout"); err != nil {
		return sp, err
	}
	if s := p.text("fail-after"); s != "" {
		if sp.FailAfter, err = strconv.Atoi(s); err != nil || sp.FailAfter < 0 {
			return sp, fmt.Errorf("%s %q: give how many certain task failures end a rollout (1: the first), or 0 to leave the verdict to ECS's circuit breaker", p.name("fail-after"), s)
		}
	}
	switch v := ecsdeploy.InProgress(p.text("on-rollout-in-progress")); v {
	case ecsdeploy.Wait, ecsdeploy.Supersede:
		sp.OnRolloutInProgress = v
	default:
		return sp, fmt.Errorf("%s %q is not known: use wait (let another build's rollout finish first) or supersede (replace it at once)", p.name("on-rollout-in-progress"), v)
	}
	if sp.Lifecycle, err = p.lifecycle(); err != nil {
		return sp, err
	}
	return sp, nil
}

type parser struct {
	src      Source
	words    Words
	settings map[string]Setting
}

func (p parser) name(setting string) string { return p.words(p.settings[setting]) }

// given is the setting's text as written, "" when none.
func (p parser) given(setting string) string {
	return strings.TrimSpace(p.src.Value(p.settings[setting]))
}

// text is the setting's text, or its default.
func (p parser) text(setting string) string {
	return cmp.Or(p.given(setting), p.settings[setting].Default)
}

func (p parser) boolean(setting string) (bool, error) {
	s := p.text(setting)
	b, err := strconv.ParseBool(s)
	if err != nil {
		return false, fmt.Errorf("%s %q is not a boolean: use true or false", p.name(setting), s)
	}
	return b, nil
}

func (p parser) duration(setting string) (time.Duration, error) {
	s := p.text(setting)
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%s %q is not a positive duration: write it as Go does, e.g. 15m, 90s or 1h30m", p.name(setting), s)
	}
	return d, nil
}

var varName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// headerName is an HTTP header name (RFC 9110 token).
var headerName = regexp.MustCompile("^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")

func (p parser) lifecycle() (Lifecycle, error) {
	var l Lifecycle
	var err error
	for i, line := range Lines(p.given("env")) {
		k, v, ok := strings.Cut(line, "=")
		if !ok || !varName.MatchString(k) {
			return l, fmt.Errorf("%s, line %d: want KEY=VALUE with KEY a variable name (letters, digits, _), got %s", p.name("env"), i+1, shownKey(k, ok))
		}
		l.Env = append(l.Env, types.KeyValuePair{Name: aws.String(k), Value: aws.String(v)})
	}
	for i, line := range Lines(p.given("secrets")) {
		k, v, ok := strings.Cut(line, "=")
		if !ok || !varName.MatchString(k) || v == "" {
			return l, fmt.Errorf("%s, line %d: want KEY=secret-name-or-arn[:json-key], got %s", p.name("secrets"), i+1, shownKey(k, ok))
		}
		ref, err := ParseSecretRef(v, true)
		if err != nil {
			return l, fmt.Errorf("%s, %s: %w", p.name("secrets"), k, err)
		}
		ref.Var = k
		l.Secrets = append(l.Secrets, ref)
	}
	if s := p.text("keep-revisions"); s != "" {
		if l.KeepRevisions, err = strconv.Atoi(s); err != nil || l.KeepRevisions < 0 {
			return l, fmt.Errorf("%s %q: give how many of the newest revisions to keep (a whole number), or 0 to keep all", p.name("keep-revisions"), s)
		}
	}
	if s := p.given("pre-deploy-command"); s != "" {
		if l.PreDeploy, err = ParseCommand(s); err != nil {
			return l, fmt.Errorf("%s %w", p.name("pre-deploy-command"), err)
		}
	}
	if l.PreDeployTimeout, err = p.duration("pre-deploy-timeout"); err != nil {
		return l, err
	}
	if l.SmokeTimeout, err = p.duration("smoke-timeout"); err != nil {
		return l, err
	}
	if s := p.given("smoke-path"); s != "" {
		u, err := url.Parse(s)
		if err != nil || !strings.HasPrefix(s, "/") || u.Host != "" || strings.ContainsAny(s, " \t#") {
			return l, fmt.Errorf("%s %q: give a path that starts with /, e.g. /health (the address and port are the task's, or the load balancer's)", p.name("smoke-path"), s)
		}
		l.SmokePath = s
	}
	l.SmokeHeader = p.given("smoke-header")
	if s := p.given("smoke-header-secret"); s != "" {
		ref, err := ParseSecretRef(s, false)
		if err != nil {
			return l, fmt.Errorf("%s: %w", p.name("smoke-header-secret"), err)
		}
		l.SmokeSecret = &ref
	}
	switch {
	case l.SmokeHeader != "" && !headerName.MatchString(l.SmokeHeader):
		return l, fmt.Errorf("%s %q is not an HTTP header name: e.g. X-API-KEY", p.name("smoke-header"), l.SmokeHeader)
	case l.SmokeHeader != "" && l.SmokeSecret == nil:
		return l, fmt.Errorf("%s is set without %s: name the secret that holds its value (e.g. autonote/server/api-key)", p.name("smoke-header"), p.settings["smoke-header-secret"].Key())
	case l.SmokeSecret != nil && l.SmokeHeader == "":
		return l, fmt.Errorf("%s is set without %s: name the header it goes in (e.g. X-API-KEY)", p.name("smoke-header-secret"), p.settings["smoke-header"].Key())
	case (l.SmokeHeader != "" || p.given("smoke-timeout") != "") && l.SmokePath == "":
		return l, fmt.Errorf("smoke-header and smoke-timeout need smoke-path: the path to check, e.g. /health")
	}
	return l, nil
}

// ParseCommand reads a command as the pre-deploy-command setting takes it:
// a JSON array of strings (exec form), or a string run with sh -c. The
// error completes a sentence that starts with the setting's name.
func ParseCommand(s string) ([]string, error) {
	s = strings.TrimSpace(s)
	if !strings.HasPrefix(s, "[") {
		return []string{"sh", "-c", s}, nil
	}
	var cmd []string
	if err := json.Unmarshal([]byte(s), &cmd); err != nil || len(cmd) == 0 {
		return nil, fmt.Errorf("starts with [ but is not a JSON array of strings: write [\"npm\", \"run\", \"migrate\"], or a plain command run with sh -c")
	}
	return cmd, nil
}

func shownKey(k string, hadEquals bool) string {
	if !hadEquals {
		return "a line without =" // the line may be a value: never print it
	}
	return fmt.Sprintf("key %q", k[:min(len(k), 40)])
}

// Lines are the lines of a multi-line setting, trimmed, without blank
// lines and # comments.
func Lines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	return out
}

// secretTail is a json key, version stage or version id: what ECS takes
// after a secret's ARN in valueFrom.
var secretTail = regexp.MustCompile(`^[A-Za-z0-9_+=,.@/-]*$`)

// ParseSecretRef reads name-or-arn[:json-key[:version-stage[:version-id]]]
// (versions only where tail is true, as ECS's valueFrom takes them). A name
// has no colon; an ARN has seven parts before the tail.
func ParseSecretRef(v string, versions bool) (SecretRef, error) {
	id, tail := v, ""
	if strings.HasPrefix(v, "arn:") {
		parts := strings.SplitN(v, ":", 8)
		if len(parts) < 7 || parts[2] != "secretsmanager" || parts[5] != "secret" || parts[6] == "" {
			return SecretRef{}, fmt.Errorf("%q is not a Secrets Manager secret ARN (arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME), with an optional :json-key", v)
		}
		id = strings.Join(parts[:7], ":")
		if len(parts) == 8 {
			tail = parts[7]
		} else {
			return SecretRef{ID: id}, nil
		}
	} else {
		var hasTail bool
		id, tail, hasTail = strings.Cut(v, ":")
		if id == "" || strings.ContainsAny(id, " \t") {
			return SecretRef{}, fmt.Errorf("%q is not a secret name: give name-or-arn[:json-key], e.g. autonote/server/env:DATABASE_URL", v)
		}
		if !hasTail {
			return SecretRef{ID: id}, nil
		}
	}
	fields := strings.Split(tail, ":")
	most := 1
	if versions {
		most = 3
	}
	switch {
	case len(fields) > most && versions:
		return SecretRef{}, fmt.Errorf("secret %s: after the name come at most json-key:version-stage:version-id, got %d parts", id, len(fields))
	case len(fields) > most:
		return SecretRef{}, fmt.Errorf("secret %s: after the name comes one json-key, got %d parts", id, len(fields))
	case strings.Trim(tail, ":") == "":
		return SecretRef{}, fmt.Errorf("secret %s: the part after the name is empty: give a json-key (e.g. %s:DATABASE_URL), or drop the colon to use the whole secret", id, id)
	case fields[0] == "" && !versions:
		return SecretRef{}, fmt.Errorf("secret %s: the json-key is empty", id)
	}
	for _, f := range fields {
		if !secretTail.MatchString(f) {
			return SecretRef{}, fmt.Errorf("secret %s: %q may hold only letters, digits and _+=,.@/-", id, f[:min(len(f), 40)])
		}
	}
	fields = append(fields, "", "")
	return SecretRef{ID: id, Key: fields[0], Stage: fields[1], Version: fields[2]}, nil
}
