package ecsdeploy

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// EC2API reads the network interfaces of tasks, to find where they answer.
type EC2API interface {
	DescribeNetworkInterfaces(ctx context.Context, in *ec2.DescribeNetworkInterfacesInput, opts ...func(*ec2.Options)) (*ec2.DescribeNetworkInterfacesOutput, error)
}

// WithEC2 lets the engine find the public addresses of tasks (the status's
// and a deploy's URL). Without it (or with nil, the
// default), no address is known.
func WithEC2(c EC2API) Option {
	return func(d *Deployer) error {
		d.ec2 = c
		return nil
	}
}

// ServiceStatus is what runs now: the facts a person asks for before and
// after a deploy.
type ServiceStatus struct {
	Cluster, Service  string
	TaskDefinitionARN string
	Container         string
	Image             string
	Commit            string    // the image's tag when it is a commit SHA
	Since             time.Time // when the deployment of this revision began
	Rollout           string    // the rollout state of that deployment: COMPLETED, IN_PROGRESS or FAILED
	Running, Desired  int32
	Pending           int32
	// Addresses are host:port of the running tasks of this revision that
	// have a public address, sorted; URL is http:// the first of them.
	Addresses []string
	URL       string
	// NewestRevision is the newest active revision of the family. Earlier
	// says the service runs an earlier build on purpose (a rollback to it,
	// deployed and completed after the newest); Drift says how else the
	// service differs from the newest. Both are empty when it runs it.
	NewestRevision string
	Earlier        string
	Drift          string
	// Deployments are the service's last deployments, newest first.
	Deployments []DeploymentRecord
	// Tasks are the running tasks of the revision; Events the service's
	// latest events, newest first (ECS's words: data).
	Tasks  []TaskInfo
	Events []Event
	// Notes are facts that could not be read, and why.
	Notes []string
}

// TaskInfo is one running task as status shows it.
type TaskInfo struct {
	ID, Health, Zone, Address string
	Started                   time.Time
	eni                       string
}

// Event is one of the service's events.
type Event struct {
	At      time.Time
	Message string
}

// statusEvents is how many of the service's events a status shows.
const statusEvents = 5

// DeploymentRecord is one past or current deployment of the service.
type DeploymentRecord struct {
	ARN               string
	TaskDefinitionARN string
	Image             string
	Status            string // ECS's: SUCCESSFUL, ROLLBACK_SUCCESSFUL, STOPPED, IN_PROGRESS...
	Reason            string
	Started, Finished time.Time
	// ReturnedTo is, for a deployment that did not complete, the revision
	// the next deployment put back: the last stable one (a rollback by
	// deploy-action or by hand, which ECS records as a deployment that
	// "a newer deployment replaced").
	ReturnedTo string
}

// markReturns finds, in records newest first, each deployment that did not
// complete and that the next one undid: the next deployment's revision is
// the last one that completed before it.
func markReturns(recs []DeploymentRecord) {
	for i := 1; i < len(recs); i++ {
		d := &recs[i]
		if d.Status == "SUCCESSFUL" || d.Status == "IN_PROGRESS" || d.Status == "PENDING" || d.Status == "ROLLBACK_SUCCESSFUL" {
			continue
		}
		for _, older := range recs[i+1:] {
			if older.Status == "SUCCESSFUL" || older.Status == "ROLLBACK_SUCCESSFUL" {
				if next := recs[i-1]; next.TaskDefinitionARN == older.TaskDefinitionARN && older.TaskDefinitionARN != d.TaskDefinitionARN {
					d.ReturnedTo = next.TaskDefinitionARN
				}
				break
			}
		}
	}
}

// statusDeployments is how many past deployments a status lists.
const statusDeployments = 5

// Status reads what the target runs now. It changes nothing.
func (d *Deployer) Status(ctx context.Context, t Target) (*ServiceStatus, error) {
	if t.Cluster == "" || t.Service == "" {
		return nil, fmt.Errorf("status needs a cluster and a service")
	}
	r := d.newRun(Request{Target: t}, verbStatus)
	svc, err := r.describeService(ctx)
	if err != nil {
		return nil, err
	}
	st := &ServiceStatus{
		Cluster: t.Cluster, Service: t.Service, TaskDefinitionARN: aws.ToString(svc.TaskDefinition),
		Running: svc.RunningCount, Desired: svc.DesiredCount, Pending: svc.PendingCount,
	}
	for _, dep := range svc.Deployments {
		if aws.ToString(dep.Status) == "PRIMARY" {
			st.Since, st.Rollout = aws.ToTime(dep.CreatedAt), string(dep.RolloutState)
		}
	}
	td, err := r.describeTaskDefinition(ctx, st.TaskDefinitionARN)
	if err != nil {
		return nil, err
	}
	if st.Container, err = ChooseContainer(td.TaskDefinition, t.Container, t.Repository); err != nil {
		return nil, err
	}
	st.Image = containerImage(td.TaskDefinition, st.Container)
	st.Commit = commitOf(st.Image)

	addrs, tasks, err := r.runningTasks(ctx, st.TaskDefinitionARN, containerPort(td.TaskDefinition, st.Container))
	if err != nil {
		st.Notes = append(st.Notes, "addresses: "+err.Error())
	}
	st.Addresses, st.Tasks = addrs, tasks
	for _, e := range svc.Events[:min(len(svc.Events), statusEvents)] {
		st.Events = append(st.Events, Event{At: aws.ToTime(e.CreatedAt), Message: aws.ToString(e.Message)})
	}
	if len(addrs) > 0 {
		st.URL = "http://" + addrs[0]
	}
	if u, err := r.lbURL(ctx, svc); err != nil {
		st.Notes = append(st.Notes, "load balancer: "+err.Error())
	} else if u != "" {
		st.URL = u
	}
	if st.NewestRevision, err = r.newestRevision(ctx, aws.ToString(td.TaskDefinition.Family)); err != nil {
		st.Notes = append(st.Notes, "revisions: "+err.Error())
	}
	if st.Deployments, err = r.deployments(ctx); err != nil {
		st.Notes = append(st.Notes, "deployments: "+err.Error())
	}
	st.Earlier, st.Drift = revisionNote(st)
	return st, nil
}

// revisionNote says how the revision the service runs stands to the
// newest of its family: an earlier build deployed on purpose (the newest
// deployment put it there and succeeded: a rollback by SHA, a deploy of a
// given revision), or drift (a dry run, a failed deploy rolled back, a
// revision registered outside this tool).
func revisionNote(st *ServiceStatus) (earlier, drift string) {
	if st.NewestRevision == "" || st.NewestRevision == st.TaskDefinitionARN {
		return "", ""
	}
	if len(st.Deployments) > 0 {
		if d := st.Deployments[0]; d.TaskDefinitionARN == st.TaskDefinitionARN && d.Status == "SUCCESSFUL" {
			build := lastPart(st.TaskDefinitionARN)
			if st.Commit != "" {
				build += " (commit " + st.Commit[:min(len(st.Commit), 12)] + ")"
			}
			since := ""
			if !d.Started.IsZero() {
				since = " since " + d.Started.UTC().Format("2006-01-02 15:04:05 UTC")
			}
			return fmt.Sprintf("the service runs an earlier build, %s,%s, deployed by %s (a rollback to it, or a deploy of that revision); %s is the newest revision", build, since, lastPart(d.ARN), lastPart(st.NewestRevision)), ""
		}
	}
	return "", fmt.Sprintf("the service runs %s, but %s is the newest revision of the family: a dry run, a failed or rolled-back deploy, or a revision registered outside this tool", lastPart(st.TaskDefinitionARN), lastPart(st.NewestRevision))
}

// commitOf is an image's tag when it looks like a commit SHA.
func commitOf(image string) string {
	i := strings.LastIndex(image, ":")
	if i < 0 || strings.Contains(image[i:], "/") {
		return ""
	}
	tag := image[i+1:]
	if len(tag) >= 7 && len(tag) <= 40 && strings.Trim(tag, "0123456789abcdef") == "" {
		return tag
	}
	return ""
}

func containerPort(td *types.TaskDefinition, container string) int32 {
	for _, c := range td.ContainerDefinitions {
		if aws.ToString(c.Name) == container && len(c.PortMappings) > 0 {
			return aws.ToInt32(c.PortMappings[0].ContainerPort)
		}
	}
	return 0
}

// addresses are host:port of the running tasks of a revision that have a
// public address: task, then its network interface, then that interface's
// public IP in EC2.
func (r *run) addresses(ctx context.Context, tdARN string, port int32) ([]string, error) {
	if r.ec2 == nil || port == 0 {
		return nil, nil
	}
	addrs, _, err := r.runningTasks(ctx, tdARN, port)
	return addrs, err
}

// runningTasks reads the running tasks of revision tdARN: their public
// addresses (host:port, sorted; none without an EC2 client or a port),
// and each task as status shows it.
func (r *run) runningTasks(ctx context.Context, tdARN string, port int32) ([]string, []TaskInfo, error) {
	list, err := r.ecs.ListTasks(ctx, &ecs.ListTasksInput{Cluster: aws.String(r.req.Cluster), ServiceName: aws.String(r.req.Service), DesiredStatus: types.DesiredStatusRunning})
	if err != nil {
		return nil, nil, fmt.Errorf("list tasks: %w", err)
	}
	if len(list.TaskArns) == 0 {
		return nil, nil, nil
	}
	tasks, err := r.ecs.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String(r.req.Cluster), Tasks: list.TaskArns[:min(len(list.TaskArns), 100)]})
	if err != nil {
		return nil, nil, fmt.Errorf("describe tasks: %w", err)
	}
	var infos []TaskInfo
	var enis []string
	for _, t := range tasks.Tasks {
		if aws.ToString(t.TaskDefinitionArn) != tdARN || aws.ToString(t.LastStatus) != "RUNNING" {
			continue
		}
		infos = append(infos, TaskInfo{ID: lastPart(aws.ToString(t.TaskArn)), Health: string(t.HealthStatus), Zone: aws.ToString(t.AvailabilityZone),
			Started: aws.ToTime(t.StartedAt), eni: interfaceOf(t)})
		if id := interfaceOf(t); id != "" {
			enis = append(enis, id)
		}
	}
	if len(enis) == 0 || r.ec2 == nil || port == 0 {
		return nil, infos, nil
	}
	out, err := r.ec2.DescribeNetworkInterfaces(ctx, &ec2.DescribeNetworkInterfacesInput{NetworkInterfaceIds: enis})
	if err != nil {
		return nil, infos, fmt.Errorf("describe network interfaces: %w", err)
	}
	var addrs []string
	for _, n := range out.NetworkInterfaces {
		if n.Association == nil || aws.ToString(n.Association.PublicIp) == "" {
			continue
		}
		addr := net.JoinHostPort(aws.ToString(n.Association.PublicIp), strconv.Itoa(int(port)))
		addrs = append(addrs, addr)
		for i := range infos {
			if infos[i].eni == aws.ToString(n.NetworkInterfaceId) {
				infos[i].Address = addr
			}
		}
	}
	slices.Sort(addrs)
	return addrs, infos, nil
}

func interfaceOf(t types.Task) string {
	for _, a := range t.Attachments {
		if aws.ToString(a.Type) != "ElasticNetworkInterface" {
			continue
		}
		for _, d := range a.Details {
			if aws.ToString(d.Name) == "networkInterfaceId" {
				return aws.ToString(d.Value)
			}
		}
	}
	return ""
}

// newestRevision is the newest active revision of a family, by number
// (not every ECS honours the list's sort order).
func (r *run) newestRevision(ctx context.Context, family string) (string, error) {
	newest, top := "", -1
	p := ecs.NewListTaskDefinitionsPaginator(r.ecs, &ecs.ListTaskDefinitionsInput{
		FamilyPrefix: aws.String(family), Status: types.TaskDefinitionStatusActive, Sort: types.SortOrderDesc,
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return "", fmt.Errorf("list revisions of %s: %w", family, err)
		}
		for _, arn := range page.TaskDefinitionArns {
			f, rev, _ := strings.Cut(lastPart(arn), ":")
			if n, err := strconv.Atoi(rev); err == nil && f == family && n > top {
				newest, top = arn, n
			}
		}
	}
	return newest, nil
}

// deployments are the service's last deployments with the image each
// deployed.
func (r *run) deployments(ctx context.Context) ([]DeploymentRecord, error) {
	out, err := r.ecs.ListServiceDeployments(ctx, &ecs.ListServiceDeploymentsInput{
		Cluster: aws.String(r.req.Cluster), Service: aws.String(r.req.Service), MaxResults: aws.Int32(statusDeployments),
	})
	if err != nil {
		return nil, fmt.Errorf("list service deployments: %w", err)
	}
	var revs []string
	for _, b := range out.ServiceDeployments {
		if arn := aws.ToString(b.TargetServiceRevisionArn); arn != "" && !slices.Contains(revs, arn) {
			revs = append(revs, arn)
		}
	}
	tdOf := map[string]string{}
	if len(revs) > 0 {
		rv, err := r.ecs.DescribeServiceRevisions(ctx, &ecs.DescribeServiceRevisionsInput{ServiceRevisionArns: revs})
		if err != nil {
			return nil, fmt.Errorf("describe service revisions: %w", err)
		}
		for _, v := range rv.ServiceRevisions {
			tdOf[aws.ToString(v.ServiceRevisionArn)] = aws.ToString(v.TaskDefinition)
		}
	}
	images := map[string]string{}
	var recs []DeploymentRecord
	for _, b := range out.ServiceDeployments[:min(len(out.ServiceDeployments), statusDeployments)] {
		rec := DeploymentRecord{
			ARN: aws.ToString(b.ServiceDeploymentArn), TaskDefinitionARN: tdOf[aws.ToString(b.TargetServiceRevisionArn)],
			Status: string(b.Status), Reason: aws.ToString(b.StatusReason),
			Started: aws.ToTime(b.StartedAt), Finished: aws.ToTime(b.FinishedAt),
		}
		if td := rec.TaskDefinitionARN; td != "" {
			if _, ok := images[td]; !ok {
				if out, err := r.describeTaskDefinition(ctx, td); err == nil {
					if c, err := ChooseContainer(out.TaskDefinition, r.req.Container, r.req.Repository); err == nil {
						images[td] = containerImage(out.TaskDefinition, c)
					}
				}
			}
			rec.Image = images[td]
		}
		recs = append(recs, rec)
	}
	markReturns(recs)
	return recs, nil
}

// locate fills the result's addresses and URL: where the tasks of revision
// td answer. A failure to find them is logged, never the deploy's failure.
func (r *run) locate(ctx context.Context, td string) {
	if r.elb != nil {
		if svc, err := r.describeService(ctx); err == nil {
			if u, err := r.lbURL(ctx, svc); errors.Is(err, errBadDomainTag) {
				r.res.LoadBalanced, r.lbErr = true, err
			} else if err != nil {
				r.log.Warn("could not read the service's load balancer", "error", err)
			} else if u != "" {
				r.res.URL, r.res.LoadBalanced = u, true
			}
		}
	}
	if r.ec2 == nil {
		return
	}
	out, err := r.describeTaskDefinition(ctx, td)
	if err != nil {
		r.log.Warn("could not find where the new tasks answer", "error", err)
		return
	}
	addrs, err := r.addresses(ctx, td, containerPort(out.TaskDefinition, r.res.Container))
	if err != nil {
		r.log.Warn("could not find where the new tasks answer", "error", err)
		return
	}
	r.res.Addresses = addrs
	if len(addrs) > 0 && !r.res.LoadBalanced {
		r.res.URL = "http://" + addrs[0]
	}
}
