// Command action is the deploy-action GitHub Action's entry point in its
// container: it rolls an ECS service onto a commit's image, watches the
// rollout and rolls back when it fails, reading its inputs from the
// environment the runner sets. The same binary, named deploy-action, runs
// from a terminal (cmd/deploy-action).
package main

import "github.com/autonote/deploy-action/internal/actioncli"

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() { actioncli.Main(version) }
