package ecssim

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// taskNet is the network interface a task of an awsvpc service gets: made
// in moto's EC2 the first time the task is described, in the service's
// first subnet, with an Elastic IP of the scenario's address when the
// service assigns public IPs.
type taskNet struct {
	region, subnet string
	groups         []string
	address        string
}

// noteNetwork records the interface a new task will need.
func (s *Simulator) noteNetwork(sv *service, r *rollout, t *types.Task) {
	nc := sv.svc.NetworkConfiguration
	if nc == nil || nc.AwsvpcConfiguration == nil || len(nc.AwsvpcConfiguration.Subnets) == 0 {
		return
	}
	n := &taskNet{region: regionOfARN(aws.ToString(t.TaskArn)), subnet: nc.AwsvpcConfiguration.Subnets[0], groups: nc.AwsvpcConfiguration.SecurityGroups}
	if nc.AwsvpcConfiguration.AssignPublicIp == types.AssignPublicIpEnabled {
		n.address = r.scenario.Address
	}
	s.nets[aws.ToString(t.TaskArn)] = n
}

// attachNetworks gives each task that needs one its network interface.
// moto is called without the simulator's lock held.
func (s *Simulator) attachNetworks(ctx context.Context, tasks []*types.Task) error {
	type job struct {
		t *types.Task
		n *taskNet
	}
	s.mu.Lock()
	var jobs []job
	for _, t := range tasks {
		if n, ok := s.nets[aws.ToString(t.TaskArn)]; ok && len(t.Attachments) == 0 {
			jobs = append(jobs, job{t, n})
		}
	}
	s.mu.Unlock()
	for _, j := range jobs {
		att, err := s.makeInterface(ctx, j.n)
		if err != nil {
			return fmt.Errorf("network interface of task %s in moto: %w", taskID(j.t), err)
		}
		s.mu.Lock()
		if len(j.t.Attachments) == 0 {
			j.t.Attachments = []types.Attachment{att}
		}
		s.mu.Unlock()
	}
	return nil
}

func (s *Simulator) makeInterface(ctx context.Context, n *taskNet) (types.Attachment, error) {
	ec := s.ec2Client(n.region)
	eni, err := ec.CreateNetworkInterface(ctx, &ec2.CreateNetworkInterfaceInput{SubnetId: aws.String(n.subnet), Groups: n.groups,
		Description: aws.String("ecssim task")})
	if err != nil {
		return types.Attachment{}, err
	}
	id := aws.ToString(eni.NetworkInterface.NetworkInterfaceId)
	if n.address != "" {
		eip, err := ec.AllocateAddress(ctx, &ec2.AllocateAddressInput{Domain: ec2types.DomainTypeVpc, Address: aws.String(n.address)})
		if err != nil {
			return types.Attachment{}, err
		}
		if _, err := ec.AssociateAddress(ctx, &ec2.AssociateAddressInput{AllocationId: eip.AllocationId, NetworkInterfaceId: aws.String(id)}); err != nil {
			return types.Attachment{}, err
		}
	}
	detail := func(k, v string) types.KeyValuePair {
		return types.KeyValuePair{Name: aws.String(k), Value: aws.String(v)}
	}
	return types.Attachment{
		Id:     aws.String(s.idLocked("attachment", 32)),
		Type:   aws.String("ElasticNetworkInterface"),
		Status: aws.String("ATTACHED"),
		Details: []types.KeyValuePair{
			detail("subnetId", n.subnet),
			detail("networkInterfaceId", id),
			detail("macAddress", aws.ToString(eni.NetworkInterface.MacAddress)),
			detail("privateIPv4Address", aws.ToString(eni.NetworkInterface.PrivateIpAddress)),
		},
	}, nil
}

func (s *Simulator) idLocked(prefix string, n int) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.id(prefix, n)
}

func regionOfARN(arn string) string {
	parts := strings.Split(arn, ":")
	if len(parts) < 4 {
		return "us-east-1"
	}
	return parts[3]
}
