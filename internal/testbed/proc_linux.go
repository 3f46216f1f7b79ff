package testbed

import (
	"os/exec"
	"syscall"
)

// dieWithParent makes the kernel end cmd when the test binary ends, even
// when it crashes or is killed, so no moto_server outlives its tests.
func dieWithParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
