package ecsdeploy

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/ecs"

	"github.com/autonote/deploy-action/internal/awsjson"
)

// RevisionDiff is the revision next against the one the service runs,
// field by field, as ecspresso's diff shows it: "~ path: old → new" for a
// field that changes, "+ path: value" for a field or a list item added,
// "- path" for one removed. Containers, variables, secrets, volumes and
// tags are named by their name (or key), not their place in a list; an
// environment value is never printed, only that it changed.
func RevisionDiff(running, next *ecs.RegisterTaskDefinitionInput) []string {
	before, after := flatten(running), flatten(next)
	var lines []string
	said := map[string]bool{}
	for _, k := range sortedKeys(before.leaves, after.leaves) {
		b, inB := before.leaves[k]
		a, inA := after.leaves[k]
		env := strings.Contains(k, ".environment[")
		switch {
		case inB && inA && a != b && env:
			lines = append(lines, "~ "+k+": changed (value not shown)")
		case inB && inA && a != b:
			lines = append(lines, fmt.Sprintf("~ %s: %s → %s", k, b, a))
		case inA && !inB:
			item, value := after.newItem(k, before)
			if said[item] {
				continue
			}
			said[item] = true
			if env {
				value = "(value not shown)"
			}
			lines = append(lines, fmt.Sprintf("+ %s: %s", item, value))
		case inB && !inA:
			item, _ := before.newItem(k, after)
			if !said[item] {
				said[item] = true
				lines = append(lines, "- "+item)
			}
		}
	}
	return lines
}

// flat is a registration as path → JSON value of each leaf, and of each
// list item (path ending in "]").
type flat struct{ leaves, items map[string]string }

// newItem is the outermost list item of path that other lacks, with its
// value; path itself, with its value, when other has every item of it.
func (f flat) newItem(path string, other flat) (string, string) {
	for i := 0; i < len(path); i++ {
		if path[i] != ']' {
			continue
		}
		item := path[:i+1]
		if _, ok := other.items[item]; !ok {
			return item, f.items[item]
		}
	}
	return path, f.leaves[path]
}

// ServiceDiff says what the deploy changes on the service itself.
func ServiceDiff(runningARN, nextARN string, desired, scaleTo int32) []string {
	var lines []string
	if runningARN != nextARN {
		lines = append(lines, fmt.Sprintf("~ service.taskDefinition: %s → %s (ECS starts a deployment: new tasks, then the old ones stop)", lastPart(runningARN), cmp.Or(lastPart(nextARN), "the new revision")))
	}
	if scaleTo > 0 && scaleTo != desired {
		lines = append(lines, fmt.Sprintf("~ service.desiredCount: %d → %d", desired, scaleTo))
	}
	return lines
}

// keyed are the lists whose items a diff names by a field of theirs.
var keyed = map[string]string{"containerDefinitions": "name", "environment": "name", "secrets": "name", "volumes": "name",
	"tags": "key", "mountPoints": "sourceVolume", "dependsOn": "containerName", "ulimits": "name", "environmentFiles": "value"}

// flatten is a registration as its leaves and list items by path.
func flatten(in *ecs.RegisterTaskDefinitionInput) flat {
	out := flat{leaves: map[string]string{}, items: map[string]string{}}
	if in == nil {
		return out
	}
	raw, err := json.Marshal(awsjson.Value(in))
	if err != nil {
		return out
	}
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return out
	}
	walk("", "", v, out)
	return out
}

func walk(path, field string, v any, out flat) {
	switch x := v.(type) {
	case map[string]any:
		for k, val := range x {
			walk(join(path, k), k, val, out)
		}
	case []any:
		key := keyed[field]
		for i, item := range x {
			name := fmt.Sprint(i)
			if m, ok := item.(map[string]any); ok && key != "" {
				if s, ok := m[key].(string); ok {
					name = s
				}
			}
			b, _ := json.Marshal(item)
			out.items[path+"["+name+"]"] = string(b)
			walk(path+"["+name+"]", "", item, out)
		}
	default:
		b, _ := json.Marshal(x)
		out.leaves[path] = string(b)
	}
}

func join(path, k string) string {
	if path == "" {
		return k
	}
	return path + "." + k
}

func sortedKeys(ms ...map[string]string) []string {
	var keys []string
	for _, m := range ms {
		for k := range m {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return slices.Compact(keys)
}
