package awsmodel

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// Request is an AWS API request read off the wire.
type Request struct {
	Model     *Model
	Operation string
	// Params is the input as the operation's shape names it: structures
	// are map[string]any, lists []any, scalars string (query protocols) or
	// what encoding/json reads with UseNumber (JSON protocols).
	Params    map[string]any
	Region    string
	AccessKey string // empty: unsigned (sts:AssumeRoleWithWebIdentity)
	// Unknown are parameters on the wire that no member of the input
	// shape names.
	Unknown []string
}

// byService maps a SigV4 signing name to botocore's name for its model.
var byService = map[string]string{
	"ec2": "ec2", "iam": "iam", "ecs": "ecs", "ecr": "ecr", "secretsmanager": "secretsmanager", "logs": "logs", "sts": "sts",
	"monitoring": "cloudwatch", "elasticloadbalancing": "elbv2", "dynamodb": "dynamodb", "acm": "acm",
}

// Credential reads the access key, region and signing name of a SigV4
// Authorization header; ok is false when the request is unsigned.
func Credential(h http.Header) (accessKey, region, service string, ok bool) {
	_, cred, found := strings.Cut(h.Get("Authorization"), "Credential=")
	if !found {
		return "", "", "", false
	}
	cred, _, _ = strings.Cut(cred, ",")
	parts := strings.Split(cred, "/")
	if len(parts) < 5 {
		return "", "", "", false
	}
	return parts[0], parts[2], parts[3], true
}

// Decode reads the operation and parameters of an AWS API request whose
// body is body.
func (m *Models) Decode(r *http.Request, body []byte) (*Request, error) {
	key, region, service, signed := Credential(r.Header)
	req := &Request{Region: region, AccessKey: key}
	target := r.Header.Get("X-Amz-Target")
	var form url.Values
	if target == "" {
		var err error
		if form, err = url.ParseQuery(string(body)); err != nil {
			return nil, fmt.Errorf("read the form of a query request: %w", err)
		}
		for k, v := range r.URL.Query() {
			form[k] = append(form[k], v...)
		}
		if !signed {
			// Only STS takes unsigned calls (AssumeRoleWithWebIdentity).
			service, req.Region = "sts", "us-east-1"
		}
	}
	name, ok := byService[service]
	if !ok {
		return nil, fmt.Errorf("no model for the service %q (signing name)", service)
	}
	md, err := m.Model(name)
	if err != nil {
		return nil, err
	}
	req.Model = md
	if target != "" {
		prefix, op, _ := strings.Cut(target, ".")
		if prefix != md.TargetPrefix {
			return nil, fmt.Errorf("X-Amz-Target %q is not of %s (%s)", target, name, md.TargetPrefix)
		}
		req.Operation = op
		req.Params = map[string]any{}
		if len(bytes.TrimSpace(body)) > 0 {
			dec := json.NewDecoder(bytes.NewReader(body))
			dec.UseNumber()
			if err := dec.Decode(&req.Params); err != nil {
				return nil, fmt.Errorf("%s: read the JSON body: %w", op, err)
			}
		}
		if _, ok := md.Operations[op]; !ok {
			return nil, fmt.Errorf("%s has no operation %s", name, op)
		}
		return req, nil
	}
	req.Operation = form.Get("Action")
	op, ok := md.Operations[req.Operation]
	if !ok {
		return nil, fmt.Errorf("%s has no operation %q", name, req.Operation)
	}
	d := &queryDecoder{md: md, form: form, ec2: md.Protocol == "ec2", used: map[string]bool{"Action": true, "Version": true}}
	req.Params = map[string]any{}
	if op.Input != "" {
		if v := d.structure("", md.Shapes[op.Input]); v != nil {
			req.Params = v
		}
	}
	for k := range form {
		if !d.used[k] {
			req.Unknown = append(req.Unknown, k)
		}
	}
	slices.Sort(req.Unknown)
	return req, nil
}

// queryDecoder rebuilds the parameters of an AWS Query or EC2 Query form
// from the input shape, as botocore's serializers flatten them.
type queryDecoder struct {
	md   *Model
	form url.Values
	ec2  bool
	used map[string]bool
}

func join(prefix, name string) string {
	if prefix == "" {
		return name
	}
	return prefix + "." + name
}

// has reports whether any parameter is key or lies under it.
func (d *queryDecoder) has(key string) bool {
	for k := range d.form {
		if k == key || strings.HasPrefix(k, key+".") {
			return true
		}
	}
	return false
}

// memberName is a structure member's name on the wire.
func (d *queryDecoder) memberName(name string, m *Member) string {
	if d.ec2 {
		switch {
		case m.QueryName != "":
			return m.QueryName
		case m.LocationName != "":
			return strings.ToUpper(m.LocationName[:1]) + m.LocationName[1:]
		}
		return name
	}
	if m.LocationName != "" {
		return m.LocationName
	}
	return name
}

func (d *queryDecoder) structure(prefix string, sh *Shape) map[string]any {
	out := map[string]any{}
	for name, m := range sh.Members {
		if m.Location != "" {
			continue
		}
		if v, ok := d.value(join(prefix, d.memberName(name, m)), m); ok {
			out[name] = v
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

func (d *queryDecoder) value(key string, m *Member) (any, bool) {
	sh := d.md.Shapes[m.Shape]
	if sh == nil {
		return nil, false
	}
	switch sh.Type {
	case "structure":
		if !d.has(key) {
			return nil, false
		}
		v := d.structure(key, sh)
		if v == nil {
			v = map[string]any{}
		}
		return v, true
	case "list":
		return d.list(key, sh)
	case "map":
		return d.mapValue(key, sh)
	default:
		vs, ok := d.form[key]
		if !ok {
			return nil, false
		}
		d.used[key] = true
		return vs[0], true
	}
}

func (d *queryDecoder) list(key string, sh *Shape) (any, bool) {
	if vs, ok := d.form[key]; ok && len(vs) > 0 && vs[0] == "" {
		d.used[key] = true // an empty list
		return []any{}, true
	}
	prefix := key
	switch {
	case d.ec2:
	case sh.Flattened:
		if n := sh.Member.LocationName; n != "" {
			if i := strings.LastIndex(key, "."); i >= 0 {
				prefix = key[:i+1] + n
			} else {
				prefix = n
			}
		}
	default:
		prefix = key + "." + cmp.Or(sh.Member.LocationName, "member")
	}
	var out []any
	for i := 1; ; i++ {
		k := prefix + "." + strconv.Itoa(i)
		if !d.has(k) {
			break
		}
		v, ok := d.value(k, sh.Member)
		if !ok {
			break
		}
		out = append(out, v)
	}
	if out == nil {
		return nil, false
	}
	return out, true
}

func (d *queryDecoder) mapValue(key string, sh *Shape) (any, bool) {
	prefix := key + ".entry"
	if sh.Flattened {
		prefix = key
	}
	kn, vn := cmp.Or(sh.Key.LocationName, "key"), cmp.Or(sh.Value.LocationName, "value")
	out := map[string]any{}
	for i := 1; ; i++ {
		base := prefix + "." + strconv.Itoa(i)
		k, ok := d.form[base+"."+kn]
		if !ok {
			break
		}
		d.used[base+"."+kn] = true
		v, _ := d.value(base+"."+vn, sh.Value)
		out[k[0]] = v
	}
	if len(out) == 0 {
		return nil, false
	}
	return out, true
}
