// Package livetest runs the bootstrap and the deploy engine against a real
// AWS account. It is opt-in and never runs in CI:
//
//	AWS_REGION=eu-west-1 AWS_PROFILE=sandbox go test -tags awslive -v ./internal/livetest/
//
// It makes a baseline under a name of its own (desired count 0, so no task
// runs and nothing but the two secrets costs money), checks it from the
// real APIs, deploys nothing, and destroys it again. TestBlueGreenAsTheDeployRole
// deploys twice by blue/green, through the gate and with keep-revisions, as a
// role with the deploy role's own policy and boundary (a task and a load
// balancer for some minutes: cents).
package livetest
