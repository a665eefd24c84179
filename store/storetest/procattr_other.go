//go:build !linux

package storetest

import "syscall"

// sysProcAttr has nothing to add off Linux.
func sysProcAttr() *syscall.SysProcAttr { return nil }
