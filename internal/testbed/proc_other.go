//go:build !linux

package testbed

import "os/exec"

func dieWithParent(*exec.Cmd) {}

func listens(int, int) bool { return true }
