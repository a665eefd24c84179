package main

import (
	"os"
	"testing"
)

// envRunMain, set to 1, makes the test binary run the real program (main)
// instead of the tests, with its arguments: the end-to-end tests start it
// as a child process, so that signals, exit codes and stderr are the real
// program's without a separate go build.
const envRunMain = "DOORSTEP_TEST_RUN_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(envRunMain) == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}
