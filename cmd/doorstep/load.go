package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
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
		serverLog                     string
	)
	fs.StringVar(&cfg.Target, "target", "", "base `URL` of a running server (loopback only unless -allow-remote); empty: start one (-store)")
	fs.BoolVar(&cfg.AllowRemote, "allow-remote", false, "allow a -target that is not a loopback address")
	fs.StringVar(&cfg.Key, "key", "", "API key sent as a bearer token (needs the ops and booking roles); empty: none")
	fs.IntVar(&cfg.Workers, "workers", 10000, "workers in the synthetic city, registered first by POST /v1/workers/import")
	fs.BoolVar(&cfg.SkipImport, "skip-import", false, "register no workers (the target already has this city, same -workers and -seed)")
	fs.IntVar(&cfg.Rate, "rate", 100, "arrivals a second (constant: an open model)")
	fs.DurationVar(&cfg.Duration, "duration", 10*time.Second, "how long arrivals go on (at most 10m)")
	fs.IntVar(&cfg.MaxRequests, "max-requests", 0, "bound on the requests sent (0: rate x duration)")
	fs.DurationVar(&cfg.Timeout, "timeout", 5*time.Second, "bound on one request")
	fs.Uint64Var(&cfg.Seed, "seed", 1, "seed of the city and the requests")
	fs.StringVar(&mix, "mix", "", "operations and weights, e.g. match=55,book=20,cancel=5,location=20 (the default); an operation left out is not sent")
	fs.StringVar(&jsonOut, "json", "", "write the report as JSON to `file`")
	fs.StringVar(&label, "label", "", "print markdown table rows for bench/RESULTS.md labelled `label` (e.g. the store)")
	fs.StringVar(&storeName, "store", "redis", "without -target: the started server's store, redis (a private redis-server) or embedded")
	fs.StringVar(&redisBin, "redis-server", "redis-server", "redis-server binary for -store redis")
	fs.StringVar(&serverBin, "server-bin", "", "doorstep binary to start (default: this one)")
	fs.StringVar(&serveArg, "serve-args", "-rate-limit -1", "extra flags of the started server's serve command, space separated")
	fs.StringVar(&serverLog, "server-log", "", "append the started server's log to `file` (default: discarded)")
	fs.StringVar(&cpuOut, "cpuprofile", "", "write the server's CPU profile over the run to `file` (needs pprof: a started server, or -pprof)")
	fs.StringVar(&pprof, "pprof", "", "with -target: the server's pprof `address` (serve -pprof-addr), for -cpuprofile and its heap")
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
	ops, err := load.ParseMix(load.DefaultOps(), mix)
	if err != nil {
		return &exitError{code: 2, err: err}
	}
	cfg.Ops = ops
	var serverPID int
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
	var (
		profWG  sync.WaitGroup
		profErr error
	)
	cfg.AfterImport = func() {
		mem("imported")
		if cpuOut != "" {
			profWG.Go(func() { profErr = load.CPUProfile(ctx, pprof, cfg.Duration, cpuOut) })
		}
	}
	rep, err := load.Run(ctx, cfg)
	if err != nil {
		return err
	}
	profWG.Wait()
	if profErr != nil {
		return profErr
	}
	mem("after")
	extra["loadavg"] = extra["loadavg_start"].(string) + " / " + load.LoadAvg()
	perWorker := func(key string) {
		a, ok1 := extra[key+"_empty_bytes"].(float64)
		b, ok2 := extra[key+"_imported_bytes"].(float64)
		if ok1 && ok2 && !cfg.SkipImport {
			extra[key+"_per_worker_bytes"] = (b - a) / float64(cfg.Workers)
		}
	}
	perWorker("server_rss")
	perWorker("server_heap")
	perWorker("redis_used_memory")
	rep.Extra = extra
	rep.WriteText(stdout)
	fmt.Fprintf(stdout, "import %v; load average %s\n", rep.ImportTook.Round(time.Millisecond), extra["loadavg"])
	for _, k := range []string{"server_rss_per_worker_bytes", "server_heap_per_worker_bytes", "redis_used_memory_per_worker_bytes"} {
		if v, ok := extra[k].(float64); ok {
			fmt.Fprintf(stdout, "%s: %.0f\n", strings.TrimSuffix(k, "_bytes"), v)
		}
	}
	if label != "" {
		fmt.Fprint(stdout, rep.Rows(label))
	}
	if jsonOut != "" {
		data, err := json.MarshalIndent(rep, "", "  ")
		if err != nil {
			return err
		}
		if err := os.WriteFile(jsonOut, append(data, '\n'), 0o644); err != nil {
			return err
		}
	}
	return nil
}
