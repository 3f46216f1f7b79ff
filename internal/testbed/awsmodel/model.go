// Package awsmodel reads AWS's own service models (botocore's, as the aws
// CLI ships them) and judges a request on the wire against them, as the
// service would before it acts: the operation's input shape (unknown and
// required members, types, enums, lengths, ranges, patterns) and the limits
// AWS documents but the models do not encode (limits.go). The test bed
// judges every request a test sends with it, so a request real AWS would
// refuse fails the test that sent it, whatever moto accepted.
package awsmodel

import (
	"compress/gzip"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
)

// Models are the service models of one botocore data directory, each read
// on first use.
type Models struct {
	dir string

	mu       sync.Mutex
	byName   map[string]*Model // by botocore's directory name
	loadErrs map[string]error
}

// Model is one service's model.
type Model struct {
	Name         string // botocore's directory name: ec2, elbv2, ...
	Protocol     string // ec2, query, json
	TargetPrefix string // json: the X-Amz-Target prefix
	Version      string // the API version (query: the Version parameter)
	Operations   map[string]*Operation
	Shapes       map[string]*Shape
}

// Operation is one API operation of a model.
type Operation struct {
	Name  string
	Input string // its input shape; empty: none
}

// Shape is a node of a model's type graph, as botocore writes it.
type Shape struct {
	Type      string             `json:"type"`
	Required  []string           `json:"required"`
	Members   map[string]*Member `json:"members"`
	Member    *Member            `json:"member"` // list
	Key       *Member            `json:"key"`    // map
	Value     *Member            `json:"value"`  // map
	Min       *float64           `json:"min"`
	Max       *float64           `json:"max"`
	Pattern   string             `json:"pattern"`
	Enum      []string           `json:"enum"`
	Flattened bool               `json:"flattened"`
	Union     bool               `json:"union"`

	once sync.Once
	re   *regexp.Regexp // Pattern, whole-value, in Go's syntax; nil when it does not translate
}

// Member is a structure's member, a list's element or a map's key or value.
type Member struct {
	Shape        string `json:"shape"`
	LocationName string `json:"locationName"`
	QueryName    string `json:"queryName"`
	Flattened    bool   `json:"flattened"`
	Location     string `json:"location"` // header, uri, querystring: not in the body
}

// Open returns the models of dir, botocore's data directory.
func Open(dir string) *Models {
	return &Models{dir: dir, byName: map[string]*Model{}, loadErrs: map[string]error{}}
}

// FindBotocore finds the data directory of the botocore the aws CLI runs
// on: $BOTOCORE_DATA, else that of the Python the aws command starts, else
// python3's.
func FindBotocore() (string, error) {
	if d := os.Getenv("BOTOCORE_DATA"); d != "" {
		return d, nil
	}
	var pythons []string
	if aws, err := exec.LookPath("aws"); err == nil {
		if b, err := os.ReadFile(aws); err == nil {
			first, _, _ := strings.Cut(string(b), "\n")
			if p, ok := strings.CutPrefix(first, "#!"); ok && strings.Contains(p, "python") {
				pythons = append(pythons, strings.Fields(p)...)
			}
		}
	}
	pythons = append(pythons, "python3")
	for _, py := range pythons {
		if strings.HasSuffix(py, "/env") {
			continue
		}
		out, err := exec.Command(py, "-c", "import botocore, os; print(os.path.dirname(botocore.__file__))").Output()
		if err == nil {
			dir := filepath.Join(strings.TrimSpace(string(out)), "data")
			if _, err := os.Stat(dir); err == nil {
				return dir, nil
			}
		}
	}
	return "", fmt.Errorf("find botocore's service models: no python with botocore (the aws CLI brings it: pip install awscli), or set BOTOCORE_DATA")
}

// Model returns the newest model of a service by botocore's name for it.
func (m *Models) Model(name string) (*Model, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if md, ok := m.byName[name]; ok {
		return md, nil
	}
	if err, ok := m.loadErrs[name]; ok {
		return nil, err
	}
	md, err := load(filepath.Join(m.dir, name))
	if err != nil {
		m.loadErrs[name] = err
		return nil, err
	}
	md.Name = name
	m.byName[name] = md
	return md, nil
}

// load reads the newest API version's service-2.json(.gz) of a service.
func load(dir string) (*Model, error) {
	versions, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("read the model of %s: %w", filepath.Base(dir), err)
	}
	var names []string
	for _, v := range versions {
		if v.IsDir() {
			names = append(names, v.Name())
		}
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("read the model of %s: no API version in %s", filepath.Base(dir), dir)
	}
	slices.Sort(names)
	base := filepath.Join(dir, names[len(names)-1], "service-2.json")
	var raw struct {
		Metadata struct {
			Protocol     string `json:"protocol"`
			TargetPrefix string `json:"targetPrefix"`
			APIVersion   string `json:"apiVersion"`
		} `json:"metadata"`
		Operations map[string]struct {
			Input *Member `json:"input"`
		} `json:"operations"`
		Shapes map[string]*Shape `json:"shapes"`
	}
	if f, err := os.Open(base + ".gz"); err == nil {
		defer f.Close()
		zr, err := gzip.NewReader(f)
		if err != nil {
			return nil, fmt.Errorf("read %s.gz: %w", base, err)
		}
		if err := json.NewDecoder(zr).Decode(&raw); err != nil {
			return nil, fmt.Errorf("read %s.gz: %w", base, err)
		}
	} else {
		b, err := os.ReadFile(base)
		if err != nil {
			return nil, fmt.Errorf("read the model of %s: %w", filepath.Base(dir), err)
		}
		if err := json.Unmarshal(b, &raw); err != nil {
			return nil, fmt.Errorf("read %s: %w", base, err)
		}
	}
	md := &Model{Protocol: raw.Metadata.Protocol, TargetPrefix: raw.Metadata.TargetPrefix, Version: raw.Metadata.APIVersion,
		Operations: map[string]*Operation{}, Shapes: raw.Shapes}
	for name, op := range raw.Operations {
		o := &Operation{Name: name}
		if op.Input != nil {
			o.Input = op.Input.Shape
		}
		md.Operations[name] = o
	}
	return md, nil
}

// regexp is the shape's pattern as a whole-value Go expression: AWS
// matches a value against the whole pattern. A pattern Go cannot express
// (a lookaround) gives nil, and the value is not judged by it.
func (s *Shape) regexp() *regexp.Regexp {
	s.once.Do(func() {
		if s.Pattern == "" {
			return
		}
		re, err := regexp.Compile(`^(?:` + goPattern(s.Pattern) + `)$`)
		if err == nil {
			s.re = re
		}
	})
	return s.re
}

var javaEscape = regexp.MustCompile(`\\u([0-9A-Fa-f]{4,6})`)

// goPattern turns the Java escapes of AWS's patterns (\uXXXX, and AWS's
// \u10000-\u10FFFF for the planes above the first) into Go's \x{...}.
func goPattern(p string) string {
	return javaEscape.ReplaceAllStringFunc(p, func(m string) string {
		hex := m[2:]
		if len(hex) > 4 && !strings.HasPrefix(hex, "10") {
			return `\x{` + hex[:4] + `}` + hex[4:]
		}
		return `\x{` + hex + `}`
	})
}
