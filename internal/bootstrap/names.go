package bootstrap

import (
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// AWS's rules for what a config names, checked before the first call: a
// value AWS would refuse is a config error naming the key and the rule,
// not a half-made stack. Each rule is AWS's documented one for the
// resource the value names.
var (
	// The stack's name prefixes its load balancer and target groups
	// (ELBv2: 32 letters, digits and hyphens, with -alb and -tg2 after it).
	stackNameRule = regexp.MustCompile(`^[A-Za-z0-9](?:[A-Za-z0-9-]{0,26}[A-Za-z0-9])?$`)
	// ECS: "Up to 255 letters (uppercase and lowercase), numbers, underscores, and hyphens".
	ecsNameRule = regexp.MustCompile(`^[A-Za-z0-9_-]{1,255}$`)
	// IAM role names: 64 of letters, digits and +=,.@_-.
	roleNameRule = regexp.MustCompile(`^[\w+=,.@-]{1,64}$`)
	// CloudWatch Logs: 1 to 512 of letters, digits and ._-/#.
	logGroupRule = regexp.MustCompile(`^[.\-_/#A-Za-z0-9]{1,512}$`)
	// Secrets Manager: ASCII letters, digits and /_+=.@-, never ending in
	// a hyphen and six characters (AWS's own suffix).
	secretNameRule   = regexp.MustCompile(`^[A-Za-z0-9/_+=.@-]{1,512}$`)
	secretSuffixRule = regexp.MustCompile(`-[A-Za-z0-9]{6}$`)
	// ECR: lower case components, each of letters and digits joined by
	// one . _ or -, separated by /.
	repositoryRule = regexp.MustCompile(`^(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*$`)
)

// retentionDays are the retentions CloudWatch Logs offers.
var retentionDays = []int32{1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653}

// fargateMemory are the memory sizes (MiB) Fargate offers with each task
// cpu (units): the ECS developer guide, "Task size".
var fargateMemory = map[int][]int{
	256:   {512, 1024, 2048},
	512:   sizes(1024, 4096, 1024),
	1024:  sizes(2048, 8192, 1024),
	2048:  sizes(4096, 16384, 1024),
	4096:  sizes(8192, 30720, 1024),
	8192:  sizes(16384, 61440, 4096),
	16384: sizes(32768, 122880, 8192),
}

func sizes(from, to, by int) []int {
	var out []int
	for n := from; n <= to; n += by {
		out = append(out, n)
	}
	return out
}

// checkNames checks every name and size of the config against AWS's rules.
func (c Config) checkNames() []error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if c.Name != "" && !stackNameRule.MatchString(c.Name) {
		add("name %q: give at most 28 letters, digits and hyphens, starting and ending with a letter or digit (it names the load balancer %s-alb and the target group %s-tg2, which ELB allows 32 of)", c.Name, c.Name, c.Name)
	}
	for _, kv := range [][2]string{{"cluster", c.Cluster}, {"service", c.Service}, {"family", c.Family}, {"container", c.Container}} {
		if kv[1] != "" && !ecsNameRule.MatchString(kv[1]) {
			add("%s %q: ECS allows up to 255 letters, digits, underscores and hyphens (no dots or spaces)", kv[0], kv[1])
		}
	}
	roles := [][2]string{{"execution-role", c.ExecutionRole}, {"infrastructure-role", c.InfrastructureRoleName()}}
	if g := c.GitHub; g != nil {
		roles = append(roles, [2]string{"github.role", g.Role}, [2]string{"github.bootstrap-role", g.BootstrapRole})
	}
	for _, kv := range roles {
		if kv[1] == "" || roleNameRule.MatchString(kv[1]) {
			continue
		}
		if kv[0] == "infrastructure-role" && c.InfrastructureRole == "" {
			add("name %q makes the infrastructure role %q, longer than IAM's 64 characters: give a shorter name, or infrastructure-role", c.Name, kv[1])
			continue
		}
		add("%s %q: IAM allows a role name of at most 64 letters, digits and +=,.@_-", kv[0], kv[1])
	}
	if c.LogGroup != "" && !logGroupRule.MatchString(c.LogGroup) {
		add("log-group %q: CloudWatch Logs allows up to 512 letters, digits and ._-/# (no spaces)", c.LogGroup)
	}
	if !slices.Contains(retentionDays, c.LogRetentionDays) {
		add("log-retention-days %d is not a retention CloudWatch Logs offers: use one of 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653", c.LogRetentionDays)
	}
	for _, kv := range [][2]string{{"app-secret", c.AppSecret}, {"api-key-secret", c.APIKeySecret}} {
		switch {
		case kv[1] == "":
		case !secretNameRule.MatchString(kv[1]):
			add("%s %q: Secrets Manager allows ASCII letters, digits and /_+=.@- (no spaces)", kv[0], kv[1])
		case secretSuffixRule.MatchString(kv[1]):
			add("%s %q ends in a hyphen and six characters, as the suffix Secrets Manager adds to every secret's ARN does: give a name that does not", kv[0], kv[1])
		}
	}
	if r := c.ECRRepository; r != "" && (len(r) < 2 || len(r) > 256 || !repositoryRule.MatchString(r)) {
		add("ecr-repository %q: ECR allows 2 to 256 lower case letters and digits, in parts joined by . _ or - and separated by /, e.g. autonote/server", r)
	}
	if err := fargateSize(c.CPU, c.Memory); err != nil {
		errs = append(errs, err)
	}
	if p := c.Step(); p != 0 && math.Abs(p*10-math.Round(p*10)) > 1e-9 {
		add("step-percent %g: ECS takes a multiple of 0.1 (e.g. 12.3)", p)
	}
	return errs
}

// fargateSize checks cpu and memory against the task sizes Fargate offers.
func fargateSize(cpu, memory string) error {
	c, errC := strconv.Atoi(strings.TrimSpace(cpu))
	m, errM := strconv.Atoi(strings.TrimSpace(memory))
	if errC != nil || errM != nil {
		return fmt.Errorf("cpu %q and memory %q: give CPU units and MiB as numbers, e.g. cpu: \"256\", memory: \"512\"", cpu, memory)
	}
	offered, ok := fargateMemory[c]
	if !ok {
		return fmt.Errorf("cpu %q is not a Fargate task size: use 256, 512, 1024, 2048, 4096, 8192 or 16384", cpu)
	}
	if !slices.Contains(offered, m) {
		return fmt.Errorf("cpu %s with memory %s is not a task size Fargate offers: with cpu %s give memory %s", cpu, memory, cpu, memoryChoices(offered))
	}
	return nil
}

// memoryChoices words the memory sizes of a cpu.
func memoryChoices(offered []int) string {
	if len(offered) <= 3 {
		var s []string
		for _, m := range offered {
			s = append(s, strconv.Itoa(m))
		}
		return strings.Join(s[:len(s)-1], ", ") + " or " + s[len(s)-1]
	}
	return fmt.Sprintf("from %d to %d in steps of %d", offered[0], offered[len(offered)-1], offered[1]-offered[0])
}
