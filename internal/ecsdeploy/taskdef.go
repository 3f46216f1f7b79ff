package ecsdeploy

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/autonote/deploy-action/internal/awsjson"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
)

// NextRevision returns the RegisterTaskDefinition input that registers a copy
// of td, with its tags, in which only the image of container changes.
//
// The copy goes through the SDK's own types: every field of TaskDefinition
// that RegisterTaskDefinitionInput also has is carried over by name, so a
// field the API gains later travels without a change here, and the read-only
// attributes (ARN, revision, status, compatibilities, requiresAttributes,
// registeredAt/By) fall away because the input has no place for them.
// Values a user set, empty strings included, are kept as they are.
func NextRevision(td *types.TaskDefinition, tags []types.Tag, container, image string) (*ecs.RegisterTaskDefinitionInput, error) {
	if td == nil {
		return nil, fmt.Errorf("task definition is nil")
	}
	raw, err := json.Marshal(td)
	if err != nil {
		return nil, fmt.Errorf("copy task definition %s: %w", aws.ToString(td.TaskDefinitionArn), err)
	}
	in := &ecs.RegisterTaskDefinitionInput{}
	if err := json.Unmarshal(raw, in); err != nil {
		return nil, fmt.Errorf("copy task definition %s: %w", aws.ToString(td.TaskDefinitionArn), err)
	}
	if len(tags) > 0 {
		in.Tags = append([]types.Tag(nil), tags...)
	}
	found := false
	for i := range in.ContainerDefinitions {
		if aws.ToString(in.ContainerDefinitions[i].Name) == container {
			in.ContainerDefinitions[i].Image = aws.String(image)
			found = true
		}
	}
	if !found {
		return nil, &NotFoundError{Kind: ErrContainerNotFound, Name: container, Where: "task definition " + aws.ToString(td.TaskDefinitionArn), Exists: containerNames(td)}
	}
	return in, nil
}

// ChooseContainer picks the container whose image a deploy changes: the one
// named, else the only one, else the only one running an image of repository.
func ChooseContainer(td *types.TaskDefinition, name, repository string) (string, error) {
	where := "task definition " + aws.ToString(td.TaskDefinitionArn)
	if name != "" {
		for _, c := range td.ContainerDefinitions {
			if aws.ToString(c.Name) == name {
				return name, nil
			}
		}
		return "", &NotFoundError{Kind: ErrContainerNotFound, Name: name, Where: where, Exists: containerNames(td),
			Hint: "set {container-name} to one of the containers found"}
	}
	if len(td.ContainerDefinitions) == 1 {
		return aws.ToString(td.ContainerDefinitions[0].Name), nil
	}
	var matches []string
	for _, c := range td.ContainerDefinitions {
		if repository != "" && imageRepository(aws.ToString(c.Image)) == repository {
			matches = append(matches, aws.ToString(c.Name))
		}
	}
	if len(matches) == 1 {
		return matches[0], nil
	}
	hint := fmt.Sprintf("no container runs an image of repository %q; set {container-name}", repository)
	if len(matches) > 1 {
		hint = fmt.Sprintf("containers %s all run images of repository %q; set {container-name}", strings.Join(matches, ", "), repository)
	}
	return "", &NotFoundError{Kind: ErrContainerNotFound, Name: "(not named)", Where: where, Exists: containerNames(td), Hint: hint}
}

// imageRepository is the repository path of an image reference:
// "123.dkr.ecr.us-east-1.amazonaws.com/autonote/server:abc" -> "autonote/server".
func imageRepository(ref string) string {
	if i := strings.Index(ref, "@"); i >= 0 {
		ref = ref[:i]
	}
	if i := strings.LastIndex(ref, ":"); i > strings.LastIndex(ref, "/") {
		ref = ref[:i]
	}
	if host, path, ok := strings.Cut(ref, "/"); ok && (strings.ContainsAny(host, ".:") || host == "localhost") {
		return path
	}
	return ref
}

func containerNames(td *types.TaskDefinition) []string {
	var names []string
	for _, c := range td.ContainerDefinitions {
		names = append(names, aws.ToString(c.Name))
	}
	return names
}

// containerImage is the image of the named container.
func containerImage(td *types.TaskDefinition, name string) string {
	for _, c := range td.ContainerDefinitions {
		if aws.ToString(c.Name) == name {
			return aws.ToString(c.Image)
		}
	}
	return ""
}

// render is the input as a person reads it: indented JSON with the API's
// own lowerCamel member names is what `aws ecs register-task-definition
// --cli-input-json` takes, so that is what a dry run prints.
func render(in *ecs.RegisterTaskDefinitionInput) ([]byte, error) {
	// Environment values are shown by name only: a dry run prints this to
	// the log and the job summary, and a value may be a secret someone put
	// in plain text. The input itself, which is registered, is not touched.
	red := *in
	red.ContainerDefinitions = slices.Clone(in.ContainerDefinitions)
	for i := range red.ContainerDefinitions {
		env := slices.Clone(red.ContainerDefinitions[i].Environment)
		for j := range env {
			if aws.ToString(env[j].Value) != "" {
				env[j].Value = aws.String(RedactedValue)
			}
		}
		red.ContainerDefinitions[i].Environment = env
	}
	return json.MarshalIndent(awsjson.Value(&red), "", "  ")
}

// RedactedValue stands for an environment value in a rendered task definition.
const RedactedValue = "(redacted)"

// setVariables sets env and secrets on the container, replacing variables
// of the same name, in plain text or from a secret: a name is one or the
// other, never both.
func setVariables(in *ecs.RegisterTaskDefinitionInput, container string, env []types.KeyValuePair, secrets []types.Secret) {
	if len(env)+len(secrets) == 0 {
		return
	}
	for i := range in.ContainerDefinitions {
		c := &in.ContainerDefinitions[i]
		if aws.ToString(c.Name) != container {
			continue
		}
		envName := func(e types.KeyValuePair) *string { return e.Name }
		secretName := func(s types.Secret) *string { return s.Name }
		for _, kv := range env {
			c.Secrets = without(c.Secrets, aws.ToString(kv.Name), secretName)
			c.Environment = upsert(c.Environment, kv, envName)
		}
		for _, sec := range secrets {
			c.Environment = without(c.Environment, aws.ToString(sec.Name), envName)
			c.Secrets = upsert(c.Secrets, sec, secretName)
		}
	}
}

// upsert replaces the item of list named as v is, or appends v.
func upsert[T any](list []T, v T, name func(T) *string) []T {
	n := aws.ToString(name(v))
	if j := slices.IndexFunc(list, func(x T) bool { return aws.ToString(name(x)) == n }); j >= 0 {
		list[j] = v
		return list
	}
	return append(list, v)
}

// without is list less the items named n.
func without[T any](list []T, n string, name func(T) *string) []T {
	return slices.DeleteFunc(list, func(x T) bool { return aws.ToString(name(x)) == n })
}
