// Command doorstep is the Doorstep dispatch engine: one binary with the
// subcommands serve (the HTTP API), assign (solve an assignment problem
// from a file), simulate (what-if simulations), staff (the workers a
// service level needs) and load (the load bench).
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		var ee *exitError
		code := 1
		if errors.As(err, &ee) {
			code = ee.code
		}
		if !errors.Is(err, errHelp) {
			fmt.Fprintln(os.Stderr, "doorstep:", err)
		}
		os.Exit(code)
	}
}

// errHelp is returned after usage was printed on request.
var errHelp = errors.New("help requested")

const usage = `Doorstep dispatches home-service workers to households.

Usage:
  doorstep serve [-addr 127.0.0.1:8080]      run the HTTP API
  doorstep assign [-format orlib|csv] FILE   solve a linear sum assignment problem
  doorstep simulate -scenario FILE [-out DIR] [-seed N]
                                             replay a day of demand through the matcher
  doorstep staff -scenario FILE -group NAME -target X [-metric NAME] [-region NAME]
                                             how many workers a service level needs
  doorstep load [-workers N] [-rate R] [-duration D] [-store redis|embedded | -target URL]
                                             open-model load bench of a synthetic city

Run 'doorstep COMMAND -h' for a command's flags.
`

// run is the whole program, so tests can drive it.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return &exitError{code: 2, err: errors.New("missing command")}
	}
	switch args[0] {
	case "serve":
		return runServe(ctx, args[1:], stdout, stderr)
	case "assign":
		return runAssign(args[1:], stdin, stdout, stderr)
	case "simulate":
		return runSimulate(ctx, args[1:], stdout, stderr)
	case "staff":
		return runStaff(ctx, args[1:], stdout, stderr)
	case "load":
		return runLoad(ctx, args[1:], stdout, stderr)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return &exitError{code: 2, err: fmt.Errorf("unknown command %q", args[0])}
}
