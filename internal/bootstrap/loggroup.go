package bootstrap

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
)

// logGroup receives the app's logs: the one the running task definition
// writes to, else the config's.
type logGroup struct {
	s         *Stack
	retention bool // to set
}

func (g *logGroup) describe() (string, string) { return "log group", g.groupName() }
func (g *logGroup) stage() int                 { return 1 }

func (g *logGroup) groupName() string {
	if g.s.found == nil {
		return g.s.cfg.LogGroup
	}
	if c := g.s.found.container; c != nil && c.LogConfiguration != nil && c.LogConfiguration.Options["awslogs-group"] != "" {
		return c.LogConfiguration.Options["awslogs-group"]
	}
	return g.s.cfg.LogGroup
}

func (g *logGroup) find(ctx context.Context) (found, error) {
	s, name := g.s, g.groupName()
	seen, err := g.read(ctx, name)
	if err != nil || seen == nil {
		return found{}, err
	}
	s.set(func(o *Outputs) { o.LogGroupARN = seen.arn })
	f, retention := judgeLogGroup(*seen, name, s.cfg.Name, s.cfg.LogRetentionDays, slices.Contains(s.cfg.Manage, "log-group"))
	g.retention = retention
	return f, nil
}

// logGroupSeen is the log group as CloudWatch Logs has it.
type logGroupSeen struct {
	arn       string
	tags      map[string]string
	retention int32 // days; 0 keeps logs forever
}

// read finds the log group of that name and its tags: nil when there is none.
func (g *logGroup) read(ctx context.Context, name string) (*logGroupSeen, error) {
	logs := g.s.c.Logs
	out, err := logs.DescribeLogGroups(ctx, &cloudwatchlogs.DescribeLogGroupsInput{LogGroupNamePrefix: aws.String(name)})
	if err != nil {
		return nil, fmt.Errorf("describe log groups: %w", err)
	}
	for _, lg := range out.LogGroups {
		if aws.ToString(lg.LogGroupName) != name {
			continue
		}
		arn := strings.TrimSuffix(aws.ToString(lg.Arn), ":*")
		tags, err := logs.ListTagsForResource(ctx, &cloudwatchlogs.ListTagsForResourceInput{ResourceArn: aws.String(arn)})
		if err != nil {
			return nil, fmt.Errorf("list tags of %s: %w", name, err)
		}
		return &logGroupSeen{arn: arn, tags: tags.Tags, retention: aws.ToInt32(lg.RetentionInDays)}, nil
	}
	return nil, nil
}

// judgeLogGroup compares the group's retention with the config's; it
// reports whether apply is to set it.
func judgeLogGroup(seen logGroupSeen, name, stack string, days int32, managed bool) (found, bool) {
	f := found{owner: ownerOf(seen.tags, stack), whose: whoseOf(seen.tags, stack), id: seen.arn}
	var ds []drift
	if seen.retention != days {
		what := fmt.Sprintf("retention %d days, the config says %d", seen.retention, days)
		if seen.retention == 0 {
			what = fmt.Sprintf("no retention (logs are kept, and paid for, forever), the config says %d days", days)
		}
		ds = append(ds, drift{what, fmt.Sprintf("aws logs put-retention-policy --log-group-name %s --retention-in-days %d", name, days)})
	}
	return f, sortDrift(&f, "log-group", managed, ds) && len(ds) > 0
}

func (g *logGroup) create(ctx context.Context) (string, error) {
	s, name := g.s, g.groupName()
	if _, err := s.c.Logs.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String(name), Tags: s.tagMap()}); err != nil {
		return "", fmt.Errorf("create log group %s: %w", name, err)
	}
	// CreateLogGroup answers nothing: its ARN (with the account, which no
	// other resource of this stage may know yet) comes from describing it.
	if _, err := g.find(ctx); err != nil {
		return "", err
	}
	if g.s.get().LogGroupARN == "" {
		return "", fmt.Errorf("log group %s was created but is not listed yet: run apply again", name)
	}
	g.retention = true
	if err := g.change(ctx); err != nil {
		return "", err
	}
	return g.s.get().LogGroupARN, nil
}

func (g *logGroup) change(ctx context.Context) error {
	if !g.retention {
		return nil
	}
	_, err := g.s.c.Logs.PutRetentionPolicy(ctx, &cloudwatchlogs.PutRetentionPolicyInput{LogGroupName: aws.String(g.groupName()), RetentionInDays: aws.Int32(g.s.cfg.LogRetentionDays)})
	return wrap("set retention of "+g.groupName(), err)
}

func (g *logGroup) destroy(ctx context.Context) error {
	_, err := g.s.c.Logs.DeleteLogGroup(ctx, &cloudwatchlogs.DeleteLogGroupInput{LogGroupName: aws.String(g.groupName())})
	return wrap("delete log group "+g.groupName(), err)
}
