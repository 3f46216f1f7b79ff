// Package demo runs the main job end to end on the local test bed: moto, the
// ECS scheduler simulator and a registry, with no AWS account. It prints what
// a user would see in the Actions log and writes each job summary to a file.
package demo

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/google/go-containerregistry/pkg/crane"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/sethvargo/go-githubactions"

	"github.com/autonote/deploy-action/internal/action"
	"github.com/autonote/deploy-action/internal/bootstrap"
	"github.com/autonote/deploy-action/internal/deployhook"
	"github.com/autonote/deploy-action/internal/ecsdeploy"
	"github.com/autonote/deploy-action/internal/ecssim"
	"github.com/autonote/deploy-action/internal/stdwebhook"
	"github.com/autonote/deploy-action/internal/testbed"
)

// The seed's names, as the bootstrap makes them.
const (
	cluster    = "autonote-server-cluster"
	service    = "autonote-server-service"
	family     = "autonote-server-task"
	repository = "autonote/server"
)

// Options configure a demo run.
type Options struct {
	OutDir  string            // where the job summaries go
	Rollout time.Duration     // how long the simulator takes per rollout
	Polling ecsdeploy.Polling // zero: ecsdeploy.DefaultPolling()
}

// step is one run of the action and what it must end with.
type step struct {
	title  string
	inputs map[string]string
	want   string // the status output
	// before runs ahead of the action (a bootstrap apply, say); during
	// runs beside it (an alarm that fires while the rollout is under way);
	// after runs once the action is done.
	before, during, after func(context.Context) error
}

// Run runs the demo and returns an error if any step did not end as the
// demo says it should.
func Run(ctx context.Context, stdout io.Writer, o Options) error {
	if o.Rollout == 0 {
		o.Rollout = 2 * time.Second
	}
	o.Polling = cmp.Or(o.Polling, ecsdeploy.DefaultPolling())
	// The images of earlier runs (each of new commits) are not kept.
	if err := os.RemoveAll(filepath.Join(o.OutDir, "images")); err != nil {
		return err
	}
	if err := os.MkdirAll(o.OutDir, 0o755); err != nil {
		return err
	}
	say := func(format string, args ...any) { fmt.Fprintf(stdout, "\n== "+format+"\n", args...) }

	say("starting the test bed: moto, the ECS scheduler simulator, Debian's docker-registry")
	moto, err := testbed.StartMoto(ctx)
	if err != nil {
		return err
	}
	defer moto.Stop()
	bed, err := testbed.Start(moto, ecssim.WithDuration(o.Rollout))
	if err != nil {
		return err
	}
	defer bed.Close()
	reg, err := testbed.StartRegistry(ctx)
	if err != nil {
		return err
	}
	defer reg.Stop()
	bed.UseRegistry(reg)
	fmt.Fprintf(stdout, "moto %s, ECS %s, registry %s\n", moto.URL, bed.ECSURL, bed.Registry)

	shas := []string{"", testbed.SHA(), testbed.SHA(), testbed.SHA(), testbed.SHA(), testbed.SHA(), testbed.SHA(), testbed.SHA()}
	say("bootstrap apply: the AWS baseline (network, roles, secrets, repository, logs, cluster, service, the deploy role)")
	baseline, err := runBootstrap(ctx, stdout, bed)
	if err != nil {
		return err
	}
	// The workflow holds the deploy role the bootstrap made, through
	// GitHub's OIDC token: every AWS call below is judged as IAM would
	// judge that role's (and each request against AWS's request rules).
	deployer, err := bed.As(ctx, baseline.DeployRoleARN)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "the steps below run as %s, as the workflow would; the test bed judges every AWS call as IAM and AWS's request rules would\n", baseline.DeployRoleARN)
	fmt.Fprintf(stdout, "%s waits at 0 tasks with a placeholder image; the first deploy scales it to 1\n", service)

	say("building an image of commits 1 to 7 (OCI layouts, as docker buildx --output type=oci writes them)")
	layouts := map[string]string{}
	for i, sha := range shas[1:] {
		dir, err := buildImage(filepath.Join(o.OutDir, "images", sha[:7]), i+1, sha)
		if err != nil {
			return err
		}
		layouts[sha] = dir
		fmt.Fprintf(stdout, "commit %d: %s -> oci:%s\n", i+1, sha[:7], dir)
	}
	badMigration, broken := shas[3], shas[4]
	// The API answers on a loopback address, as the seed's tasks answer on
	// their public IPs, and checks the API key the bootstrap made.
	key, err := apiKey(ctx, bed)
	if err != nil {
		return err
	}
	bed.Sim.SetScenario(repository+":", ecssim.Scenario{Address: apiHost})
	// The crash takes ECS's breaker several failed tasks, as it does on AWS
	// (3 at least); the action returns at the first.
	bed.Sim.SetScenario(broken, ecssim.Scenario{Outcome: ecssim.Fail, After: 4 * o.Rollout,
		StoppedReason: "Essential container in task exited", ContainerReason: "Error: Cannot find module '/app/dist/main'", ExitCode: aws.Int32(1),
		Lines: []string{"> autonote-server@1.0.0 start:prod", "> node dist/main", "node:internal/modules/cjs/loader:1228",
			"Error: Cannot find module '/app/dist/main'", "    at Module._resolveFilename (node:internal/modules/cjs/loader:1225:15)"}})
	api := apiHandler(key)
	apiAddr, stopAPI, err := serveAPI(api)
	if err != nil {
		return err
	}
	defer stopAPI()
	fmt.Fprintf(stdout, "the tasks' public address is %s (a documentation address: the demo's own dialer takes it to the API it serves on %s)\n", apiHost, apiAddr)
	lb, err := newLoadBalancer(bed, api, apiAddr)
	if err != nil {
		return err
	}
	defer lb.Close()
	// Commit 5's rollout lasts long enough for its alarm to fire during it.
	bed.Sim.SetScenario(shas[5], ecssim.Scenario{Address: apiHost, After: 5 * o.Rollout})
	// The blue/green rollouts of commits 6 and 7 last long enough that a
	// loaded machine still sees commit 7 bake, and that their gates (a
	// 3 s smoke check) end well within the hook's timeout, which the
	// simulator scales with the rollout (30 of its durations).
	gatedRollout := max(3*o.Rollout, 2*time.Second)
	bed.Sim.SetScenario(shas[6], ecssim.Scenario{Address: apiHost, After: gatedRollout})
	bed.Sim.SetScenario(shas[7], ecssim.Scenario{Address: apiHost, After: gatedRollout})
	bed.Sim.SetTaskScenario("migration:run", ecssim.TaskScenario{Lines: []string{
		"query: SELECT * FROM \"migrations\"", "0 migrations are already loaded in the database.", "1 migrations were found in the source code.",
		"Migration AddNoteTags1764489600000 has been executed successfully.", "query: COMMIT"}})
	bed.Sim.SetTaskScenario(badMigration, ecssim.TaskScenario{Lines: []string{
		"query: SELECT * FROM \"migrations\"", "Migration AddNoteOwner1764576000000 failed, transaction rolled back:",
		"QueryFailedError: column \"owner_id\" of relation \"note\" contains null values"}, ExitCode: 1})

	env := deployer.Env()
	maps.Copy(env, map[string]string{
		"INPUT_REGISTRY": bed.Registry,
		"INPUT_TIMEOUT":  "2m",
		"GITHUB_ACTIONS": "true",
	})
	lifecycle := func(in map[string]string) map[string]string {
		maps.Copy(in, map[string]string{
			"pre-deploy-command": "npm run migration:run",
			"smoke-path":         "/health", "smoke-header": "X-API-KEY", "smoke-header-secret": "autonote/server/api-key",
			"keep-revisions": "5",
		})
		return in
	}
	steps := []step{
		{title: "push and deploy commit 1: migrate, roll out, check /health with the API key", inputs: lifecycle(map[string]string{"tag": shas[1], "image": "oci:" + layouts[shas[1]]}), want: "succeeded"},
		{title: "push and deploy commit 2", inputs: lifecycle(map[string]string{"tag": shas[2], "image": "oci:" + layouts[shas[2]]}), want: "succeeded"},
		{title: "push and deploy commit 3, whose migration fails: the service is not touched", inputs: lifecycle(map[string]string{"tag": badMigration, "image": "oci:" + layouts[badMigration]}), want: "failed"},
		{title: "push and deploy commit 4, whose container crashes on start: the return starts at its first failed task (fail-after: 1), without waiting for ECS's circuit breaker", inputs: lifecycle(map[string]string{"tag": broken, "image": "oci:" + layouts[broken]}), want: "rolled-back"},
		{title: "roll back to commit 1 by a 7-character prefix", inputs: map[string]string{"command": "rollback", "sha": shas[1][:7]}, want: "succeeded"},
		{title: "put the service behind a load balancer (bootstrap apply, endpoint: load-balancer), then deploy commit 5: its 5xx alarm fires during the rollout",
			inputs: map[string]string{"tag": shas[5], "image": "oci:" + layouts[shas[5]]}, want: "rolled-back",
			before: func(ctx context.Context) error { return moveBehindLoadBalancer(ctx, stdout, bed) },
			during: func(ctx context.Context) error { return fireWhileRolling(ctx, bed, shas[5], stdout) },
			after:  func(ctx context.Context) error { return resetAlarm(ctx, bed) }},
		{title: "what runs now (command: status)", inputs: map[string]string{"command": "status", "timeout": ""}, want: "unchanged"},
	}
	hookURL, stopHook, err := startHook(deployer, o.Polling)
	if err != nil {
		return err
	}
	defer stopHook()
	steps = append(steps, step{title: "deploy commit 2 through the deploy hook (the action holds no AWS credentials)", inputs: map[string]string{
		"tag": shas[2], "webhook-url": hookURL, "webhook-secret": hookSecret,
	}, want: "succeeded"})
	gated := func(sha string) map[string]string {
		return map[string]string{"tag": sha, "image": "oci:" + layouts[sha], "smoke-path": "/health", "smoke-header": "X-API-KEY",
			"smoke-header-secret": "autonote/server/api-key", "smoke-timeout": "3s"}
	}
	steps = append(steps,
		step{title: "move to blue/green behind HTTPS (bootstrap apply: deployment-strategy: blue-green, smoke-path, certificate-arn, domain), then deploy commit 6, whose new tasks answer 500: the gate checks them through the test rule and sends them back before any user reaches them",
			inputs: gated(shas[6]), want: "rolled-back",
			before: func(ctx context.Context) error {
				if err := moveToBlueGreen(ctx, stdout, bed, lb); err != nil {
					return err
				}
				return lb.greenAnswers(http.StatusInternalServerError)(ctx)
			},
			after: lb.report(stdout, true)},
		step{title: "deploy commit 7 by blue/green: checked through the test rule over HTTPS by its real name, continued, production moved, baked beside the old tasks",
			inputs: gated(shas[7]), want: "succeeded", before: lb.greenAnswers(0), after: lb.report(stdout, false)},
	)
	var failed []string
	for i, s := range steps {
		say("step %d: %s", i+1, s.title)
		runEnv := env
		if s.inputs["webhook-url"] != "" {
			runEnv = maps.Clone(env)
			runEnv["AWS_ACCESS_KEY_ID"], runEnv["AWS_SECRET_ACCESS_KEY"], runEnv["AWS_SESSION_TOKEN"] = "", "", ""
		}
		if s.before != nil {
			if err := s.before(ctx); err != nil {
				return err
			}
		}
		during := make(chan error, 1)
		if s.during != nil {
			go func() { during <- s.during(ctx) }()
		} else {
			during <- nil
		}
		status, err := runAction(ctx, stdout, runEnv, s.inputs, filepath.Join(o.OutDir, fmt.Sprintf("step-%d-summary.md", i+1)), o.Polling, lb.Transport())
		if err != nil && status == "" {
			return err
		}
		if err := <-during; err != nil {
			return err
		}
		if s.after != nil {
			if err := s.after(ctx); err != nil {
				return err
			}
		}
		fmt.Fprintf(stdout, "-> status %s (expected %s)\n", status, s.want)
		if status != s.want {
			failed = append(failed, fmt.Sprintf("step %d ended %s, want %s", i+1, status, s.want))
		}
	}

	say("what the service runs now, read back through the ECS API")
	out, err := bed.ECS().DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(cluster), Services: []string{service}})
	if err != nil {
		return err
	}
	td, err := bed.ECS().DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: out.Services[0].TaskDefinition})
	if err != nil {
		return err
	}
	image := aws.ToString(td.TaskDefinition.ContainerDefinitions[0].Image)
	fmt.Fprintf(stdout, "%s runs %s\n  image %s\n", service, aws.ToString(out.Services[0].TaskDefinition), image)
	if !strings.HasSuffix(image, ":"+shas[7]) {
		failed = append(failed, fmt.Sprintf("service runs %s, want commit 7 (%s)", image, shas[7][:7]))
	}
	fmt.Fprintf(stdout, "job summaries: %s\n", o.OutDir)

	say("what AWS itself would have said: every request above, judged")
	st := moto.Judge.Stats()
	fmt.Fprintf(stdout, "%d requests held to AWS's request rules, %d IAM authorizations over %d actions evaluated (as the deploy role, or the administrator's bootstrap)\n",
		st.Requests, st.IAMChecks, st.Actions)
	for _, v := range bed.Violations() {
		failed = append(failed, "AWS would have refused it: "+v.String())
	}
	if len(bed.Violations()) == 0 {
		fmt.Fprintln(stdout, "none would have been refused")
	}
	if len(failed) > 0 {
		return errors.New("demo: " + strings.Join(failed, "; "))
	}
	say("demo passed")
	return nil
}

// runAction runs the action as a runner would and prints its log as the
// Actions page shows it.
func runAction(ctx context.Context, stdout io.Writer, base, inputs map[string]string, summary string, polling ecsdeploy.Polling, smoke *http.Transport) (string, error) {
	env := maps.Clone(base)
	dir, err := os.MkdirTemp("", "demo-step")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(dir)
	env["GITHUB_OUTPUT"] = filepath.Join(dir, "output")
	env["GITHUB_STEP_SUMMARY"] = summary
	os.Remove(summary)
	for k, v := range inputs {
		env["INPUT_"+strings.ToUpper(k)] = v
	}
	var log bytes.Buffer
	a := githubactions.New(githubactions.WithGetenv(func(k string) string { return env[k] }), githubactions.WithWriter(&log))
	runErr := action.Run(ctx, a, action.WithVersion("demo"), action.WithPolling(polling), action.WithSmokeTransport(smoke))
	render(stdout, &log)
	raw, err := os.ReadFile(env["GITHUB_OUTPUT"])
	if err != nil {
		return "", errors.Join(runErr, err)
	}
	return outputValue(string(raw), "status"), runErr
}

// render prints workflow commands the way the Actions page shows them.
func render(w io.Writer, log io.Reader) {
	sc := bufio.NewScanner(log)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "::add-mask::"), line == "::endgroup::":
		case strings.HasPrefix(line, "::group::"):
			fmt.Fprintf(w, "▼ %s\n", strings.TrimPrefix(line, "::group::"))
		case strings.HasPrefix(line, "::error"):
			_, msg, _ := strings.Cut(line[2:], "::")
			fmt.Fprintf(w, "Error: %s\n", unescape(msg))
		case strings.HasPrefix(line, "::warning"):
			_, msg, _ := strings.Cut(line[2:], "::")
			fmt.Fprintf(w, "Warning: %s\n", unescape(msg))
		default:
			fmt.Fprintf(w, "  %s\n", line)
		}
	}
}

func unescape(s string) string {
	return strings.NewReplacer("%0A", "\n", "%0D", "\r", "%25", "%").Replace(s)
}

func outputValue(raw, name string) string {
	lines := strings.Split(raw, "\n")
	for i, l := range lines {
		if k, delim, ok := strings.Cut(l, "<<"); ok && k == name && i+1 < len(lines) && lines[i+1] != delim {
			return lines[i+1]
		}
	}
	return ""
}

// buildImage writes a small image of the app at a commit as an OCI layout:
// a base layer shared by every build and an app layer of its own.
func buildImage(dir string, n int, sha string) (string, error) {
	base, err := crane.Layer(map[string][]byte{"etc/os-release": []byte("NAME=demo-base\n")})
	if err != nil {
		return "", err
	}
	app, err := crane.Layer(map[string][]byte{
		"app/dist/main.js": []byte(fmt.Sprintf("console.log('autonote server, commit %d (%s), listening on 3000')\n", n, sha)),
	})
	if err != nil {
		return "", err
	}
	img, err := mutate.AppendLayers(empty.Image, base, app)
	if err != nil {
		return "", err
	}
	img, err = mutate.Config(img, v1.Config{Cmd: []string{"node", "/app/dist/main.js"}, ExposedPorts: map[string]struct{}{"3000/tcp": {}}})
	if err != nil {
		return "", err
	}
	if err := os.RemoveAll(dir); err != nil {
		return "", err
	}
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		return "", err
	}
	return dir, p.AppendImage(img)
}

const hookSecret = "whsec_ZGVtby1zZWNyZXQtZm9yLXRoZS1kZXBsb3ktaG9vaw=="

// startHook serves the deploy hook on a loopback port, with its jobs
// running through the bed's ECS.
func startHook(bed *testbed.Bed, polling ecsdeploy.Polling) (string, func(), error) {
	cfg, err := deployhook.ParseConfig(fmt.Appendf(nil, `targets:
  production: {region: %s, cluster: %s, service: %s, ecr-repository: %s, registry: %q}
`, testbed.Region, cluster, service, repository, bed.Registry), "demo")
	if err != nil {
		return "", nil, err
	}
	secrets, err := stdwebhook.ParseSecrets(hookSecret)
	if err != nil {
		return "", nil, err
	}
	runner := &deployhook.ECSRunner{Config: cfg, Polling: polling, Clients: func(context.Context, string) (deployhook.Clients, error) {
		return deployhook.Clients{ECS: bed.ECS(), ECR: bed.ECR()}, nil
	}}
	s, err := deployhook.NewServer(cfg, runner, deployhook.WithSecrets(secrets...))
	if err != nil {
		return "", nil, err
	}
	srv := httptest.NewServer(s)
	return srv.URL, srv.Close, nil
}

// moveBehindLoadBalancer applies the baseline again with endpoint:
// load-balancer, the port kept open to clients that still use the tasks'
// addresses, and prints what changed.
func moveBehindLoadBalancer(ctx context.Context, stdout io.Writer, bed *testbed.Bed) error {
	o, err := reapply(ctx, stdout, bed, func(*bootstrap.Config) {})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "  the API now answers at http://%s; alarms %s roll a deploy back\n", o.LoadBalancerDNS, strings.Join(o.AlarmNames, ", "))
	return nil
}

// reapply applies the baseline again behind the load balancer (the port
// kept open to clients that still use the tasks' addresses), with what
// change adds to the config, and prints what it created or changed.
func reapply(ctx context.Context, stdout io.Writer, bed *testbed.Bed, change func(*bootstrap.Config)) (bootstrap.Outputs, error) {
	cfg := demoConfig()
	cfg.Endpoint, cfg.TaskIngressCIDRs = bootstrap.EndpointLoadBalancer, []string{"0.0.0.0/0"}
	change(&cfg)
	stack, err := bootstrap.New(bootstrap.NewClients(bed.Config(), bed.Getenv), cfg)
	if err != nil {
		return bootstrap.Outputs{}, err
	}
	steps, err := stack.Apply(ctx, nil)
	if err != nil {
		return bootstrap.Outputs{}, err
	}
	for _, s := range steps {
		if s.Action == bootstrap.Create || s.Action == bootstrap.Change {
			fmt.Fprintf(stdout, "  %-8s %-32s %s %s\n", s.Action, s.Kind, s.Name, s.Detail)
		}
	}
	return stack.Outputs(), nil
}

// fireWhileRolling puts the 5xx alarm in ALARM once the rollout of sha is
// under way, as a build that answers 500 to every request would, and
// back to OK once ECS has rolled it back.
func fireWhileRolling(ctx context.Context, bed *testbed.Bed, sha string, stdout io.Writer) error {
	cw := cloudwatch.NewFromConfig(bed.Config())
	alarm := demoConfig().Name + "-target-5xx"
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		out, err := bed.ECS().DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(cluster), Services: []string{service}})
		if err != nil {
			return err
		}
		rolling := false
		for _, d := range out.Services[0].Deployments {
			if aws.ToString(d.Status) == "PRIMARY" && d.RolloutState == ecstypes.DeploymentRolloutStateInProgress {
				td, err := bed.ECS().DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: d.TaskDefinition})
				rolling = err == nil && strings.HasSuffix(aws.ToString(td.TaskDefinition.ContainerDefinitions[0].Image), ":"+sha)
			}
		}
		if rolling {
			_, err := cw.SetAlarmState(ctx, &cloudwatch.SetAlarmStateInput{AlarmName: aws.String(alarm), StateValue: cwtypes.StateValueAlarm,
				StateReason: aws.String("Threshold Crossed: 1 datapoint [37.0] was greater than or equal to the threshold (10.0).")})
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "  (the demo puts %s in ALARM: the new build answers 500)\n", alarm)
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("the rollout of %s never started", sha[:7])
}

// resetAlarm puts the 5xx alarm back to OK for the steps that follow, once
// the action has reported it.
func resetAlarm(ctx context.Context, bed *testbed.Bed) error {
	_, err := cloudwatch.NewFromConfig(bed.Config()).SetAlarmState(ctx, &cloudwatch.SetAlarmStateInput{
		AlarmName: aws.String(demoConfig().Name + "-target-5xx"), StateValue: cwtypes.StateValueOk, StateReason: aws.String("back to normal")})
	return err
}

// apiHost is where the demo's API answers: the public address the
// simulator gives the tasks' network interfaces. It is made up (TEST-NET-3,
// RFC 5737): the smoke check's dialer takes it to the API on loopback, and
// nothing connects to it.
const apiHost = "203.0.113.5"

// apiKey reads the API key the bootstrap made, as the app's tasks would.
func apiKey(ctx context.Context, bed *testbed.Bed) (string, error) {
	out, err := secretsmanager.NewFromConfig(bed.Config()).GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String("autonote/server/api-key")})
	if err != nil {
		return "", fmt.Errorf("read the API key: %w", err)
	}
	return aws.ToString(out.SecretString), nil
}

// apiHandler answers /health as the seed's NestJS API does: 200 with the
// API key in X-API-KEY, 401 without.
func apiHandler(key string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-API-KEY") != key {
			http.Error(w, `{"statusCode":401,"message":"Unauthorized"}`, http.StatusUnauthorized)
			return
		}
		_, _ = w.Write([]byte(`{"status":"ok"}`))
	})
}

// serveAPI serves the API on a loopback port of its own, as the tasks'
// public IPs do, and says where.
func serveAPI(api http.Handler) (string, func(), error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, fmt.Errorf("serve the demo API: %w", err)
	}
	srv := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: api}
	go func() { _ = srv.Serve(l) }()
	return l.Addr().String(), func() { _ = srv.Close() }, nil
}

// demoConfig is the seed's baseline in the bed's region, with the deploy
// role the workflow assumes.
func demoConfig() bootstrap.Config {
	cfg := bootstrap.Default()
	cfg.Region = testbed.Region
	cfg.GitHub = &bootstrap.GitHub{Repository: "autonote/autonote", Branch: "main", Role: "autonote-deploy"}
	return cfg
}

// runBootstrap makes the baseline in the bed as bootstrap apply does.
func runBootstrap(ctx context.Context, stdout io.Writer, bed *testbed.Bed) (bootstrap.Outputs, error) {
	cfg := demoConfig()
	awsCfg := bed.Config()
	stack, err := bootstrap.New(bootstrap.NewClients(awsCfg, bed.Getenv), cfg, bootstrap.WithAppSecret([]byte(`{"DATABASE_URL":"postgres://autonote@db/autonote"}`)))
	if err != nil {
		return bootstrap.Outputs{}, err
	}
	start := time.Now()
	steps, err := stack.Apply(ctx, func(s bootstrap.Step) {
		fmt.Fprintf(stdout, "  %-8s %-20s %s\n", s.Action, s.Kind, s.Name)
	})
	if err != nil {
		return bootstrap.Outputs{}, err
	}
	o := stack.Outputs()
	fmt.Fprintf(stdout, "  %d resources in %s: VPC %s, subnets %v in %v\n", len(steps), time.Since(start).Round(time.Millisecond), o.VPCID, o.PublicSubnetIDs, o.AvailabilityZones)
	return o, nil
}
