package ecsdeploy

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
)

// TestGuardCoversEveryChange: every method of ECSAPI that is not a read
// (Describe…, List…) passes the guard first, and a failing guard keeps the
// call from reaching ECS. A method added to ECSAPI without a guard fails
// here: the embedded nil client panics when called.
func TestGuardCoversEveryChange(t *testing.T) {
	fenced := errors.New("another replica holds the job now")
	var asked []string
	g := guarded{guard: func(context.Context) error { return fenced }}
	v := reflect.ValueOf(g)
	api := reflect.TypeFor[ECSAPI]()
	changes := 0
	for i := range api.NumMethod() {
		name := api.Method(i).Name
		if strings.HasPrefix(name, "Describe") || strings.HasPrefix(name, "List") {
			continue
		}
		changes++
		m := v.MethodByName(name)
		in := reflect.New(m.Type().In(1).Elem())
		func() {
			defer func() {
				if recover() != nil {
					t.Errorf("%s reached ECS past a failing guard", name)
				}
			}()
			out := m.Call([]reflect.Value{reflect.ValueOf(context.Background()), in})
			err, _ := out[1].Interface().(error)
			if !errors.Is(err, fenced) || !strings.Contains(err.Error(), name) {
				t.Errorf("%s returned %v, want the guard's error naming the call", name, err)
			}
			asked = append(asked, name)
		}()
	}
	if changes < 7 || len(asked) != changes {
		t.Errorf("guarded %d of %d changes (%v)", len(asked), changes, asked)
	}
}
