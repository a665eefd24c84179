package storetest

import "syscall"

// sysProcAttr makes the kernel kill redis-server if the test process dies
// without running its cleanups (a panic, a timeout, a SIGKILL).
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
