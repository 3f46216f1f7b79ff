package ecsdeploy

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
)

// maxFailedLines and maxLineLength bound what a failure shows of a
// stopped task's log: enough for a stack trace's head, never a flood.
const (
	maxFailedLines = 20
	maxLineLength  = 400
)

// tailFirstStopped reads, in the background, the last lines the app's
// container of the first stopped task wrote (awslogs), into stopped[0];
// the returned channel closes when done. Nothing to read (no logs client,
// no awslogs) closes it at once.
func (r *run) tailFirstStopped(ctx context.Context, stopped []StoppedTask) <-chan struct{} {
	done := make(chan struct{})
	if r.logs == nil || len(stopped) == 0 || stopped[0].taskDefinition == "" {
		close(done)
		return done
	}
	t, container := &stopped[0], r.res.Container
	region := ""
	if parts := strings.Split(t.TaskARN, ":"); len(parts) > 3 {
		region = parts[3]
	}
	go func() {
		defer close(done)
		ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		out, err := r.ecs.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(t.taskDefinition)})
		if err != nil {
			return
		}
		l := r.taskLines(out.TaskDefinition, container, t.TaskARN)
		if l == nil {
			return
		}
		t.LogGroup, t.LogStream, t.LogURL = l.group, l.stream, logStreamURL(region, l.group, l.stream)
		ev, err := r.logs.GetLogEvents(ctx, &cloudwatchlogs.GetLogEventsInput{LogGroupName: aws.String(l.group), LogStreamName: aws.String(l.stream),
			StartFromHead: aws.Bool(false), Limit: aws.Int32(maxFailedLines)})
		if err != nil {
			return
		}
		for _, e := range ev.Events {
			t.Last = append(t.Last, truncate(strings.TrimRight(aws.ToString(e.Message), "\r\n"), maxLineLength))
			t.lastAt = append(t.lastAt, time.UnixMilli(aws.ToInt64(e.Timestamp)))
		}
	}()
	return done
}

// showTail waits for the lines tailFirstStopped reads and reports them, as
// a phase of their own, line by line as data.
func (r *run) showTail(done <-chan struct{}, stopped []StoppedTask) {
	<-done
	if len(stopped) == 0 || len(stopped[0].Last) == 0 {
		return
	}
	t := stopped[0]
	r.phase(fmt.Sprintf("last %d log lines of stopped task %s (log group %s, stream %s)", len(t.Last), lastPart(t.TaskARN), t.LogGroup, t.LogStream))
	tl, ok := r.reporter.(TaskLogger)
	for i, line := range t.Last {
		if ok {
			tl.TaskLine(t.lastAt[i], line)
			continue
		}
		r.log.Info("stopped task", "line", line)
	}
}

// logStreamURL opens a log stream in the CloudWatch console.
func logStreamURL(region, group, stream string) string {
	enc := func(s string) string { // the console's own escaping of a path in its fragment
		return strings.ReplaceAll(url.QueryEscape(s), "%", "$25")
	}
	return fmt.Sprintf("https://%s.console.aws.amazon.com/cloudwatch/home?region=%s#logsV2:log-groups/log-group/%s/log-events/%s", region, region, enc(group), enc(stream))
}
