// Command deploy-action runs the action from a terminal, as
//
//	deploy-action deploy|rollback|redeploy|status|bootstrap [-input value ...]
//
// with the shell's credentials; it is cmd/action under the name the docs
// and the release use (go install names a binary after its folder).
package main

import "github.com/autonote/deploy-action/internal/actioncli"

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() { actioncli.Main(version) }
