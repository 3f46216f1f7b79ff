package ecsdeploy_test

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/autonote/deploy-action/internal/ecsdeploy"
)

// fill sets every exported field reachable from v to a value that is not
// its zero value, so a field that a copy drops shows up as a difference.
func fill(v reflect.Value, depth int) {
	switch v.Kind() {
	case reflect.Pointer:
		if v.Type().Elem() == reflect.TypeFor[time.Time]() {
			v.Set(reflect.ValueOf(aws.Time(time.Unix(1700000000, 0).UTC())))
			return
		}
		v.Set(reflect.New(v.Type().Elem()))
		fill(v.Elem(), depth)
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() && depth < 6 {
				fill(v.Field(i), depth+1)
			}
		}
	case reflect.Slice:
		s := reflect.MakeSlice(v.Type(), 1, 1)
		fill(s.Index(0), depth)
		v.Set(s)
	case reflect.Map:
		m := reflect.MakeMap(v.Type())
		k := reflect.New(v.Type().Key()).Elem()
		fill(k, depth)
		e := reflect.New(v.Type().Elem()).Elem()
		fill(e, depth)
		m.SetMapIndex(k, e)
		v.Set(m)
	case reflect.String:
		v.SetString("set")
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int32, reflect.Int64:
		v.SetInt(7)
	case reflect.Float64, reflect.Float32:
		v.SetFloat(1.5)
	}
}

func TestNextRevisionCopiesEveryRegistrableField(t *testing.T) {
	t.Parallel()
	var td types.TaskDefinition
	fill(reflect.ValueOf(&td).Elem(), 0)
	td.ContainerDefinitions[0].Name = aws.String("server")
	tags := []types.Tag{{Key: aws.String("team"), Value: aws.String("")}}

	in, err := ecsdeploy.NextRevision(&td, tags, "server", "registry.example/autonote/server:new")
	if err != nil {
		t.Fatal(err)
	}
	if got := aws.ToString(in.ContainerDefinitions[0].Image); got != "registry.example/autonote/server:new" {
		t.Errorf("image = %q, want the new one", got)
	}
	in.ContainerDefinitions[0].Image = td.ContainerDefinitions[0].Image

	src := reflect.ValueOf(td)
	dst := reflect.ValueOf(*in)
	for i := range dst.NumField() {
		f := dst.Type().Field(i)
		if !f.IsExported() {
			continue
		}
		if f.Name == "Tags" {
			if !reflect.DeepEqual(in.Tags, tags) {
				t.Errorf("Tags = %v, want %v", in.Tags, tags)
			}
			continue
		}
		sf := src.FieldByName(f.Name)
		if !sf.IsValid() {
			t.Errorf("RegisterTaskDefinitionInput.%s has no counterpart in TaskDefinition: decide where it comes from", f.Name)
			continue
		}
		if !reflect.DeepEqual(sf.Interface(), dst.Field(i).Interface()) {
			t.Errorf("%s not copied:\n got %#v\nwant %#v", f.Name, dst.Field(i).Interface(), sf.Interface())
		}
	}
}

func TestNextRevisionSendsNoReadOnlyAttribute(t *testing.T) {
	t.Parallel()
	var td types.TaskDefinition
	fill(reflect.ValueOf(&td).Elem(), 0)
	td.ContainerDefinitions[0].Name = aws.String("server")
	in, err := ecsdeploy.NextRevision(&td, nil, "server", "x/y:z")
	if err != nil {
		t.Fatal(err)
	}
	raw, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	for _, field := range []string{"TaskDefinitionArn", "Revision", "Status", "Compatibilities", "RequiresAttributes", "RegisteredAt", "RegisteredBy", "DeregisteredAt", "DeleteRequestedAt"} {
		if strings.Contains(string(raw), `"`+field+`"`) {
			t.Errorf("input carries read-only %s", field)
		}
	}
}

func TestNextRevisionKeepsEmptyValues(t *testing.T) {
	t.Parallel()
	td := &types.TaskDefinition{ContainerDefinitions: []types.ContainerDefinition{{
		Name:        aws.String("server"),
		Image:       aws.String("old"),
		Environment: []types.KeyValuePair{{Name: aws.String("EMPTY"), Value: aws.String("")}},
		Command:     []string{},
	}}}
	in, err := ecsdeploy.NextRevision(td, nil, "server", "new")
	if err != nil {
		t.Fatal(err)
	}
	env := in.ContainerDefinitions[0].Environment
	if len(env) != 1 || env[0].Value == nil || *env[0].Value != "" {
		t.Errorf("environment = %#v, want EMPTY kept with an empty value", env)
	}
	if td.ContainerDefinitions[0].Image == nil || *td.ContainerDefinitions[0].Image != "old" {
		t.Errorf("the current definition changed: %q", aws.ToString(td.ContainerDefinitions[0].Image))
	}
}

func TestChooseContainer(t *testing.T) {
	t.Parallel()
	td := func(images ...string) *types.TaskDefinition {
		out := &types.TaskDefinition{TaskDefinitionArn: aws.String("arn:aws:ecs:us-east-1:1:task-definition/app:3")}
		for i, img := range images {
			name := []string{"server", "sidecar", "proxy"}[i]
			out.ContainerDefinitions = append(out.ContainerDefinitions, types.ContainerDefinition{Name: aws.String(name), Image: aws.String(img)})
		}
		return out
	}
	ecrImage := "123456789012.dkr.ecr.us-east-1.amazonaws.com/autonote/server:abc"
	tests := []struct {
		name, named, repo string
		td                *types.TaskDefinition
		want              string
		wantErr           string
	}{
		{name: "named", named: "sidecar", td: td(ecrImage, "busybox"), want: "sidecar"},
		{name: "named but missing", named: "web", td: td(ecrImage, "busybox"), wantErr: `container not found "web" in task definition arn:aws:ecs:us-east-1:1:task-definition/app:3 (found: server, sidecar)`},
		{name: "only container", td: td("anything:1"), want: "server"},
		{name: "by repository", repo: "autonote/server", td: td("busybox", ecrImage), want: "sidecar"},
		{name: "by repository on a loopback registry", repo: "autonote/server", td: td("127.0.0.1:5000/autonote/server:abc", "busybox"), want: "server"},
		{name: "by repository and digest", repo: "autonote/server", td: td("busybox", "1.dkr.ecr.x.amazonaws.com/autonote/server@sha256:aa"), want: "sidecar"},
		{name: "no repository match", repo: "autonote/server", td: td("busybox", "nginx"), wantErr: "no container runs an image of repository"},
		{name: "two repository matches", repo: "autonote/server", td: td(ecrImage, ecrImage), wantErr: "containers server, sidecar all run images"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := ecsdeploy.ChooseContainer(tt.td, tt.named, tt.repo)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !errors.Is(err, ecsdeploy.ErrContainerNotFound) {
					t.Fatalf("err = %v, want ErrContainerNotFound saying %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("got %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

// TestNextRevisionOverTheWire registers what NextRevision builds in moto and
// checks that the new revision equals the old one but for the image.
func TestNextRevisionOverTheWire(t *testing.T) {
	t.Parallel()
	f := newFixture(t, fixtureOpts{})
	ctx := t.Context()
	client := f.bed.ECS()
	full := &ecs.RegisterTaskDefinitionInput{
		Family:                  aws.String(f.target.Service + "-full"),
		RequiresCompatibilities: []types.Compatibility{types.CompatibilityFargate},
		NetworkMode:             types.NetworkModeAwsvpc,
		Cpu:                     aws.String("512"),
		Memory:                  aws.String("1024"),
		ExecutionRoleArn:        aws.String("arn:aws:iam::123456789012:role/ecsTaskExecutionRole"),
		TaskRoleArn:             aws.String("arn:aws:iam::123456789012:role/app"),
		RuntimePlatform:         &types.RuntimePlatform{CpuArchitecture: types.CPUArchitectureArm64, OperatingSystemFamily: types.OSFamilyLinux},
		EphemeralStorage:        &types.EphemeralStorage{SizeInGiB: 30},
		Volumes: []types.Volume{
			{Name: aws.String("efs"), EfsVolumeConfiguration: &types.EFSVolumeConfiguration{FileSystemId: aws.String("fs-1"), TransitEncryption: types.EFSTransitEncryptionEnabled}},
			{Name: aws.String("scratch")},
		},
		ContainerDefinitions: []types.ContainerDefinition{{
			Name:        aws.String("server"),
			Image:       aws.String(f.image("old")),
			Essential:   aws.Bool(true),
			Environment: []types.KeyValuePair{{Name: aws.String("EMPTY"), Value: aws.String("")}, {Name: aws.String("PORT"), Value: aws.String("3000")}},
			Secrets:     []types.Secret{{Name: aws.String("API_KEY"), ValueFrom: aws.String("arn:aws:secretsmanager:us-east-1:123456789012:secret:autonote/api-key")}},
			MountPoints: []types.MountPoint{{SourceVolume: aws.String("efs"), ContainerPath: aws.String("/data")}},
			LogConfiguration: &types.LogConfiguration{LogDriver: types.LogDriverAwslogs, Options: map[string]string{
				"awslogs-group": "/ecs/autonote-server-task", "awslogs-region": "us-east-1", "awslogs-stream-prefix": "ecs"}},
		}},
		Tags: []types.Tag{{Key: aws.String("app"), Value: aws.String("autonote")}},
	}
	reg, err := client.RegisterTaskDefinition(ctx, full)
	if err != nil {
		t.Fatal(err)
	}
	before, err := client.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: reg.TaskDefinition.TaskDefinitionArn, Include: []types.TaskDefinitionField{types.TaskDefinitionFieldTags}})
	if err != nil {
		t.Fatal(err)
	}
	in, err := ecsdeploy.NextRevision(before.TaskDefinition, before.Tags, "server", f.image("new"))
	if err != nil {
		t.Fatal(err)
	}
	reg2, err := client.RegisterTaskDefinition(ctx, in)
	if err != nil {
		t.Fatalf("register the copy: %v", err)
	}
	after, err := client.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: reg2.TaskDefinition.TaskDefinitionArn, Include: []types.TaskDefinitionField{types.TaskDefinitionFieldTags}})
	if err != nil {
		t.Fatal(err)
	}
	if got := after.TaskDefinition.Revision; got != before.TaskDefinition.Revision+1 {
		t.Errorf("revision = %d, want %d", got, before.TaskDefinition.Revision+1)
	}
	a, b := *before.TaskDefinition, *after.TaskDefinition
	a.ContainerDefinitions = append([]types.ContainerDefinition(nil), a.ContainerDefinitions...)
	a.ContainerDefinitions[0].Image = aws.String(f.image("new"))
	a.TaskDefinitionArn, a.Revision, a.RegisteredAt = b.TaskDefinitionArn, b.Revision, b.RegisteredAt
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	if string(ja) != string(jb) {
		t.Errorf("new revision differs beyond the image:\n got %s\nwant %s", jb, ja)
	}
	if !reflect.DeepEqual(after.Tags, before.Tags) {
		t.Errorf("tags = %v, want %v", after.Tags, before.Tags)
	}
}
