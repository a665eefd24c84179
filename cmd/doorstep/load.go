package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/doorstep-dev/doorstep/bench/load"
)

// runLoad is `doorstep load`: the open-model load generator (bench/load)
// against a running server (-target) or one it starts itself, on the
// embedded store or a private redis-server (-store), measuring the
// server's memory and, with -cpuprofile, its CPU profile over the run.
func runLoad(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("load", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		cfg                           load.Config
		mix, jsonOut, cpuOut, label   string
		storeName, redisBin, serveArg string
		serverBin, redisAddr, pprof   string
		serverLog, rates              string
		serverPID                     int
		stopAtKnee                    bool
	)
	fs.StringVar(&cfg.Target, "target", "", "base `URL` of a running server (loopback only unless -allow-remote); empty: start one (-store)")
	fs.BoolVar(&cfg.AllowRemote, "allow-remote", false, "allow a -target that is not a loopback address")
	fs.StringVar(&cfg.Key, "key", "", "API key sent as a bearer token (needs the ops and booking roles); empty: none")
	fs.IntVar(&cfg.Workers, "workers", 10000, "workers in the synthetic city, registered first by POST /v1/workers/import")
	fs.BoolVar(&cfg.SkipImport, "skip-import", false, "register no workers (the target already has this city, same -workers and -seed)")
	fs.StringVar(&rates, "rate", "100", "arrivals a second (constant: an open model); a list such as 100,200,500 runs one phase a rate on the same server, importing once")
	fs.BoolVar(&stopAtKnee, "stop-at-knee", false, "with a list of rates: stop after the first phase in which over 1% of the requests failed (the knee)")
	fs.DurationVar(&cfg.Duration, "duration", 10*time.Second, "how long arrivals go on (at most 10m)")
	fs.IntVar(&cfg.MaxRequests, "max-requests", 0, "bound on the requests sent (0: rate x duration)")
	fs.DurationVar(&cfg.Timeout, "timeout", 5*time.Second, "bound on one request")
	fs.Uint64Var(&cfg.Seed, "seed", 1, "seed of the city and the requests")
	fs.StringVar(&mix, "mix", "", "operations and weights, e.g. match=55,book=20,cancel=5,location=20 (the default); an operation left out is not sent")
	fs.StringVar(&jsonOut, "json", "", "write the report as JSON to `file` (with several -rate phases, one file each: FILE.RATE.json, FILE.RATE-2.json for a rate's second phase)")
	fs.StringVar(&label, "label", "", "print markdown table rows for bench/RESULTS.md labelled `label` (e.g. the store)")
	fs.StringVar(&storeName, "store", "redis", "without -target: the started server's store, redis (a private redis-server) or embedded")
	fs.StringVar(&redisBin, "redis-server", "redis-server", "redis-server binary for -store redis")
	fs.StringVar(&serverBin, "server-bin", "", "doorstep binary to start (default: this one)")
	fs.StringVar(&serveArg, "serve-args", "-rate-limit -1", "extra flags of the started server's serve command, space separated")
	fs.StringVar(&serverLog, "server-log", "", "append the started server's log to `file` (default: discarded)")
	fs.StringVar(&cpuOut, "cpuprofile", "", "write the server's CPU profile over the run to `file` (needs pprof: a started server, or -pprof; with several -rate phases, FILE.RATE, FILE.RATE-2 ...)")
	fs.StringVar(&pprof, "pprof", "", "with -target: the server's pprof `address` (serve -pprof-addr), for -cpuprofile and its heap")
	fs.IntVar(&serverPID, "server-pid", 0, "with -target: the server's process id, whose RSS is reported")
	fs.StringVar(&redisAddr, "redis-addr", "", "with -target: its redis-server's `address`, whose used_memory is reported")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return errHelp
		}
		return &exitError{code: 2, err: err}
	}
	if fs.NArg() > 0 {
		return &exitError{code: 2, err: fmt.Errorf("load: unexpected arguments %q", fs.Args())}
	}
	var rateList []int
	for r := range strings.SplitSeq(rates, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(r))
		if err != nil || n < 1 {
			return &exitError{code: 2, err: fmt.Errorf("load: -rate %q: want positive numbers separated by commas", rates)}
		}
		rateList = append(rateList, n)
	}
	ops, err := load.ParseMix(load.DefaultOps(), mix)
	if err != nil {
		return &exitError{code: 2, err: err}
	}
	cfg.Ops = ops
	if cfg.Target == "" {
		logw := io.Discard
		if serverLog != "" {
			f, err := os.OpenFile(serverLog, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
			if err != nil {
				return err
			}
			defer f.Close()
			logw = f
		}
		sargs := strings.Fields(serveArg)
		switch storeName {
		case "embedded":
			sargs = append(sargs, "-redis", "embedded")
		case "redis":
			rs, err := load.StartRedis(ctx, redisBin)
			if err != nil {
				return err
			}
			defer rs.Stop()
			redisAddr = rs.Addr
			sargs = append(sargs, "-redis", "redis://"+rs.Addr+"/0")
		default:
			return &exitError{code: 2, err: fmt.Errorf("load: -store %q: want redis or embedded", storeName)}
		}
		if serverBin == "" {
			if serverBin, err = os.Executable(); err != nil {
				return err
			}
		}
		srv, pprofAddr, err := load.StartServer(ctx, serverBin, sargs, logw)
		if err != nil {
			return err
		}
		defer srv.Stop()
		cfg.Target, pprof, serverPID = "http://"+srv.Addr, pprofAddr, srv.Cmd.Process.Pid
		fmt.Fprintf(stderr, "load: started doorstep serve %s on %s (store %s)\n", strings.Join(sargs, " "), srv.Addr, storeName)
	}
	if cpuOut != "" && pprof == "" {
		return &exitError{code: 2, err: errors.New("load: -cpuprofile needs the server's pprof: start the server here (no -target) or give -pprof")}
	}
	extra := map[string]any{"loadavg_start": load.LoadAvg()}
	mem := func(when string) {
		if serverPID != 0 {
			if rss, err := load.RSS(serverPID); err == nil {
				extra["server_rss_"+when+"_bytes"] = float64(rss)
			}
		}
		if pprof != "" {
			if h, err := load.HeapAlloc(pprof); err == nil {
				extra["server_heap_"+when+"_bytes"] = float64(h)
			}
		}
		if redisAddr != "" {
			if info, err := load.RedisInfo(redisAddr, "memory"); err == nil {
				var used float64
				fmt.Sscan(info["used_memory"], &used)
				extra["redis_used_memory_"+when+"_bytes"] = used
			}
		}
	}
	mem("empty")
	for phase, rate := range rateList {
		cfg.Rate = rate
		var (
			profWG  sync.WaitGroup
			profErr error
		)
		profFile := phaseFile(cpuOut, "", rateList, phase)
		cfg.AfterImport = func() {
			if phase == 0 {
				mem("imported")
			}
			if profFile != "" {
				profWG.Go(func() { profErr = load.CPUProfile(ctx, pprof, cfg.Duration, profFile) })
			}
		}
		extra["loadavg_start"] = load.LoadAvg()
		rep, err := load.Run(ctx, cfg)
		if err != nil {
			return err
		}
		profWG.Wait()
		if profErr != nil {
			return profErr
		}
		cfg.SkipImport = true
		mem("after")
		extra["loadavg"] = extra["loadavg_start"].(string) + " / " + load.LoadAvg()
		rep.Extra = perWorker(extra, cfg.Workers)
		out := phaseFile(jsonOut, filepath.Ext(jsonOut), rateList, phase)
		if err := writeLoadReport(stdout, rep, label, out); err != nil {
			return err
		}
		if stopAtKnee && rep.Total.Failed*100 > rep.Total.Sent {
			fmt.Fprintf(stdout, "knee: %d of %d requests failed at %d/s; stopping\n", rep.Total.Failed, rep.Total.Sent, rate)
			break
		}
	}
	return nil
}

// perWorker adds to extra the memory per worker of the city: what the
// import added to the server's RSS and live heap and to Redis' used_memory,
// divided by the workers (when both readings exist).
func perWorker(extra map[string]any, workers int) map[string]any {
	out := maps.Clone(extra)
	for _, key := range []string{"server_rss", "server_heap", "redis_used_memory"} {
		a, ok := extra[key+"_empty_bytes"].(float64)
		if !ok {
			continue
		}
		if b, ok := extra[key+"_imported_bytes"].(float64); ok {
			out[key+"_per_worker_bytes"] = (b - a) / float64(workers)
		}
		// After the run the server's read model holds the workers the
		// searches read (and Redis the bookings made).
		if b, ok := extra[key+"_after_bytes"].(float64); ok {
			out[key+"_after_per_worker_bytes"] = (b - a) / float64(workers)
		}
	}
	return out
}

// phaseFile is the file a phase of a run writes for the flag's value
// file (-json, -cpuprofile): file itself when the run has one phase (or
// file is empty), else file with the phase's name put before its
// extension ext ("load.json" and ".json" give "load.500.json"; "cpu" and
// "" give "cpu.500").
func phaseFile(file, ext string, rates []int, phase int) string {
	if file == "" || len(rates) < 2 {
		return file
	}
	return strings.TrimSuffix(file, ext) + "." + phaseName(rates, phase) + ext
}

// phaseName names a phase of a run of several in its files: by its rate,
// and by which phase of that rate it is when the rate comes again ("500",
// then "500-2"), so that a later phase of a rate does not overwrite an
// earlier one.
func phaseName(rates []int, phase int) string {
	n := 0
	for _, r := range rates[:phase+1] {
		if r == rates[phase] {
			n++
		}
	}
	if n == 1 {
		return strconv.Itoa(rates[phase])
	}
	return fmt.Sprintf("%d-%d", rates[phase], n)
}

// writeLoadReport prints a phase's report (and its RESULTS.md rows when
// label is set) and writes its JSON to jsonOut, when set.
func writeLoadReport(stdout io.Writer, rep *load.Report, label, jsonOut string) error {
	rep.WriteText(stdout)
	fmt.Fprintf(stdout, "import %v; load average %s\n", rep.ImportTook.Round(time.Millisecond), rep.Extra["loadavg"])
	for _, k := range []string{"server_rss_per_worker_bytes", "server_heap_per_worker_bytes", "redis_used_memory_per_worker_bytes",
		"server_rss_after_per_worker_bytes", "server_heap_after_per_worker_bytes", "redis_used_memory_after_per_worker_bytes"} {
		if v, ok := rep.Extra[k].(float64); ok {
			fmt.Fprintf(stdout, "%s: %.0f\n", strings.TrimSuffix(k, "_bytes"), v)
		}
	}
	if label != "" {
		fmt.Fprint(stdout, rep.Rows(label))
	}
	if jsonOut == "" {
		return nil
	}
	data, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(jsonOut, append(data, '\n'), 0o644)
}
