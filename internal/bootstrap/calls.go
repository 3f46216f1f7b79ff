package bootstrap

import (
	"context"
	"fmt"
	"maps"
	"strings"
	"sync"

	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/smithy-go/middleware"
)

// mutatingPrefixes mark the operations that change something.
var mutatingPrefixes = [...]string{"Create", "Put", "Attach", "Associate", "Modify", "Authorize", "Revoke",
	"Register", "Tag", "Untag", "Update", "Delete", "Detach", "Disassociate", "Replace", "Deregister", "Restore"}

// IsMutating reports whether an AWS operation changes something.
func IsMutating(op string) bool {
	for _, p := range mutatingPrefixes {
		if strings.HasPrefix(op, p) {
			return true
		}
	}
	return false
}

// Calls counts the AWS calls of the clients built with its APIOption, by
// operation, and can fail the k-th mutating one (to test that a re-run
// converges after an interruption anywhere).
type Calls struct {
	mu       sync.Mutex
	ops      map[string]int
	mutating int
	failAt   int
	lose     bool
	// byStep are the mutating operations made for each step of a run
	// ("kind name", "" outside any): what a plan must have shown.
	byStep map[string][]string
}

// stepKey carries, in a create's or a change's context, the step it is
// made for.
type stepKey struct{}

// forStep is ctx for the calls apply makes for r.
func forStep(ctx context.Context, r resource) context.Context {
	kind, name := r.describe()
	return context.WithValue(ctx, stepKey{}, kind+" "+name)
}

// NewCalls returns a counter; failAt > 0 fails that mutating call before
// it is sent.
func NewCalls(failAt int) *Calls { return &Calls{ops: map[string]int{}, failAt: failAt} }

// LoseAnswer makes the failing call reach AWS and only its answer fail, as
// when a connection drops after the request: the change is made, the
// caller does not know it.
func (c *Calls) LoseAnswer() *Calls {
	c.lose = true
	return c
}

// APIOption adds the counter to a client's middleware stack
// (config.WithAPIOptions or the client options' APIOptions).
func (c *Calls) APIOption(st *middleware.Stack) error {
	return st.Initialize.Add(middleware.InitializeMiddlewareFunc("bootstrapCalls",
		func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
			op := awsmiddleware.GetServiceID(ctx) + ":" + awsmiddleware.GetOperationName(ctx)
			c.mu.Lock()
			c.ops[op]++
			fail := false
			if IsMutating(awsmiddleware.GetOperationName(ctx)) {
				c.mutating++
				fail = c.failAt > 0 && c.mutating == c.failAt
				step, _ := ctx.Value(stepKey{}).(string)
				if c.byStep == nil {
					c.byStep = map[string][]string{}
				}
				c.byStep[step] = append(c.byStep[step], op)
			}
			n := c.mutating
			c.mu.Unlock()
			if fail && c.lose {
				out, md, err := next.HandleInitialize(ctx, in)
				if err == nil {
					err = fmt.Errorf("injected failure: the answer to mutating call %d (%s) was lost", n, op)
				}
				return out, md, err
			}
			if fail {
				return middleware.InitializeOutput{}, middleware.Metadata{}, fmt.Errorf("injected failure at mutating call %d (%s)", n, op)
			}
			return next.HandleInitialize(ctx, in)
		}), middleware.After)
}

// ByStep returns the mutating operations made for each step ("kind name"
// as a plan names it; "" for those made outside any step).
func (c *Calls) ByStep() map[string][]string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return maps.Clone(c.byStep)
}

// Mutating is how many mutating calls were made.
func (c *Calls) Mutating() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.mutating
}

// Total is how many calls were made.
func (c *Calls) Total() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, v := range c.ops {
		n += v
	}
	return n
}

// Ops returns the count of each operation.
func (c *Calls) Ops() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return maps.Clone(c.ops)
}
