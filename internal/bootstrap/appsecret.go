package bootstrap

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
)

// appSecret holds the app's environment, a JSON object of keys.
type appSecret struct{ secret }

func (x *appSecret) find(ctx context.Context) (found, error) {
	f, err := x.findFor(ctx, func(v string) bool { return v != "API_KEY" })
	x.s.set(func(o *Outputs) { o.AppSecretARN = x.arn })
	if err != nil || f.owner == OwnerNone || len(x.s.appSecret) == 0 {
		return f, err
	}
	// The app's environment given again (APP_SECRET_JSON) is the value the
	// secret should hold: a new one is a change, never silently ignored.
	out, err := x.s.c.Secrets.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(x.arn)})
	if err != nil {
		return f, fmt.Errorf("read secret %s to compare it with APP_SECRET_JSON: %w", x.name, err)
	}
	if d := keyDiff([]byte(aws.ToString(out.SecretString)), x.s.appSecret); d != "" {
		x.s.sortDrift(&f, "app-secret", []drift{{
			what: "value differs from APP_SECRET_JSON (" + d + "); tasks read it when they start, so redeploy after apply (command: redeploy), and a key added reaches the app once a revision names it (valueFrom <arn>:KEY::)",
			fix:  "aws secretsmanager put-secret-value --secret-id " + x.name + " --secret-string file://app-secret.json",
		}})
	}
	return f, nil
}

// change writes the app's environment given to the bootstrap into the
// secret, as a new version.
func (x *appSecret) change(ctx context.Context) error {
	_, err := x.s.c.Secrets.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: aws.String(x.arn), SecretString: aws.String(string(x.s.appSecret))})
	return wrap("put secret value "+x.name, err)
}

// keyDiff says, by key name only, how the app environment want differs
// from have: "" when they hold the same keys and values.
func keyDiff(have, want []byte) string {
	var h, w map[string]string
	if json.Unmarshal(have, &h) != nil {
		return "the secret is not a JSON object of strings"
	}
	if json.Unmarshal(want, &w) != nil {
		return "APP_SECRET_JSON is not a JSON object of strings"
	}
	var added, removed, changed []string
	for k, v := range w {
		switch old, ok := h[k]; {
		case !ok:
			added = append(added, k)
		case old != v:
			changed = append(changed, k)
		}
	}
	for k := range h {
		if _, ok := w[k]; !ok {
			removed = append(removed, k)
		}
	}
	var parts []string
	for _, p := range []struct {
		verb string
		keys []string
	}{{"adds", added}, {"changes", changed}, {"removes", removed}} {
		if len(p.keys) > 0 {
			slices.Sort(p.keys)
			parts = append(parts, p.verb+" "+strings.Join(p.keys, ", "))
		}
	}
	return strings.Join(parts, "; ")
}

func (x *appSecret) create(ctx context.Context) (string, error) {
	s := x.s
	v := s.appSecret
	if len(v) == 0 {
		s.log.Warn("the app secret starts empty ({}): put the app's keys in it with aws secretsmanager put-secret-value, or give them to the bootstrap in APP_SECRET_JSON or app-secret-file", "secret", x.name)
		v = []byte("{}")
	}
	if _, err := appKeys(v); err != nil {
		return "", err
	}
	if err := x.make(ctx, string(v)); err != nil {
		return "", err
	}
	s.set(func(o *Outputs) { o.AppSecretARN = x.arn })
	return x.arn, nil
}

// CheckAppSecret checks the app's environment given to the bootstrap (from
// APP_SECRET_JSON or app-secret-file) before anything is made: a JSON
// object of string values, or nothing.
func CheckAppSecret(v []byte) error {
	if len(v) == 0 {
		return nil
	}
	_, err := appKeys(v)
	return err
}

// appKeys are the keys of the app's environment, sorted.
func appKeys(v []byte) ([]string, error) {
	var m map[string]string
	if err := json.Unmarshal(v, &m); err != nil {
		return nil, fmt.Errorf("the app secret must be a JSON object of string values (KEY: value): %w", err)
	}
	return slices.Sorted(maps.Keys(m)), nil
}
