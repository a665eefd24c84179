package store

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/doorstep-dev/doorstep/geo"
	"github.com/doorstep-dev/doorstep/store/storetest"
	"github.com/redis/go-redis/v9"
)

// slotCheck is a go-redis hook that records every script the store runs
// (EVAL, EVALSHA: by the SHA1 of its source) and every script or
// transaction whose keys fall in more than one Redis Cluster slot, as
// storetest.Slot computes them.
type slotCheck struct {
	mu    sync.Mutex
	seen  map[string]bool // SHA1 of every script run
	cross []string        // commands whose keys span slots
}

func newSlotCheck() *slotCheck { return &slotCheck{seen: map[string]bool{}} }

func (c *slotCheck) DialHook(next redis.DialHook) redis.DialHook { return next }

func (c *slotCheck) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		c.check([]redis.Cmder{cmd})
		return next(ctx, cmd)
	}
}

func (c *slotCheck) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		c.check(cmds)
		return next(ctx, cmds)
	}
}

// check records the scripts among cmds and their keys' slots; a
// transaction (MULTI ... EXEC) must keep all its keys in one slot too.
func (c *slotCheck) check(cmds []redis.Cmder) {
	c.mu.Lock()
	defer c.mu.Unlock()
	tx := len(cmds) > 0 && cmds[0].Name() == "multi"
	var txKeys []string
	for _, cmd := range cmds {
		args := cmd.Args()
		switch name := cmd.Name(); {
		case name == "eval" || name == "evalsha" || name == "eval_ro" || name == "evalsha_ro" || name == "fcall":
			sha := fmt.Sprint(args[1])
			if name == "eval" || name == "eval_ro" {
				h := sha1.Sum([]byte(sha))
				sha = hex.EncodeToString(h[:])
			}
			c.seen[sha] = true
			n, _ := strconv.Atoi(fmt.Sprint(args[2]))
			var keys []string
			for _, k := range args[3 : 3+n] {
				keys = append(keys, fmt.Sprint(k))
			}
			if !oneSlot(keys) {
				c.cross = append(c.cross, fmt.Sprint(args[:3+n]))
			}
		case tx && len(args) > 1 && name != "multi" && name != "exec":
			txKeys = append(txKeys, fmt.Sprint(args[1]))
		}
	}
	if !oneSlot(txKeys) {
		c.cross = append(c.cross, fmt.Sprint("MULTI ", txKeys))
	}
}

// oneSlot reports whether keys all hash to one slot.
func oneSlot(keys []string) bool {
	for _, k := range keys {
		if storetest.Slot(k) != storetest.Slot(keys[0]) {
			return false
		}
	}
	return true
}

// packageScripts finds every script of the package in its source: each
// redis.NewScript call of a non-test file, with its Lua source (a string
// literal, or a variable embedded from a .lua file with //go:embed). It
// returns script names (file:line) by the SHA1 that EVALSHA sends.
func packageScripts(t *testing.T) map[string]string {
	t.Helper()
	fset := token.NewFileSet()
	files, _ := filepath.Glob("*.go")
	embeds := map[string]string{} // variable name -> embedded file
	var calls []*ast.CallExpr
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(fset, f, nil, parser.ParseComments)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(file, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.ValueSpec:
				if n.Doc != nil {
					for _, cm := range n.Doc.List {
						if name, ok := strings.CutPrefix(cm.Text, "//go:embed "); ok {
							embeds[n.Names[0].Name] = strings.TrimSpace(name)
						}
					}
				}
			case *ast.CallExpr:
				if sel, ok := n.Fun.(*ast.SelectorExpr); ok && sel.Sel.Name == "NewScript" {
					calls = append(calls, n)
				}
			}
			return true
		})
	}
	scripts := map[string]string{}
	for _, call := range calls {
		var src string
		switch a := call.Args[0].(type) {
		case *ast.BasicLit:
			src, _ = strconv.Unquote(a.Value)
		case *ast.Ident:
			b, err := os.ReadFile(embeds[a.Name])
			if err != nil {
				t.Fatalf("%v: script source %s: %v", fset.Position(call.Pos()), a.Name, err)
			}
			src = string(b)
		default:
			t.Fatalf("%v: cannot read the source of this script; give redis.NewScript a string literal or a //go:embed variable", fset.Position(call.Pos()))
		}
		h := sha1.Sum([]byte(src))
		scripts[hex.EncodeToString(h[:])] = fset.Position(call.Pos()).String()
	}
	if len(scripts) == 0 {
		t.Fatal("found no scripts in the package source")
	}
	return scripts
}

// TestScriptsTouchOneSlot runs the store's contract, and the operations no
// contract test reaches, with every script call checked: the keys of each
// script (and of each transaction) must hash to one Redis Cluster slot,
// and every script of the package (found in its source, so a new one is
// covered without touching this test) must have run. Redis Cluster refuses
// a script whose keys span slots; this finds one without a cluster.
func TestScriptsTouchOneSlot(t *testing.T) {
	t.Parallel()
	check := newSlotCheck()
	open := func(t *testing.T) *harness {
		t.Helper()
		srv := storetest.RunRedis(t)
		cfg := testConfig(srv.URL())
		cfg.hooks = []redis.Hook{check}
		s, err := Open(t.Context(), cfg)
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		t.Cleanup(func() { s.Close() })
		return &harness{s: s, addr: srv.Addr, down: srv.Stop}
	}
	t.Run("Contract", func(t *testing.T) { runContract(t, open) })
	// The erasure's scripts (replaceLua, and delIfLua for the AOF
	// rewrite's marker) run in the privacy tests.
	t.Run("Privacy", func(t *testing.T) { runPrivacy(t, open) })
	// Follow-ups, feedback and the retention's reduction.
	t.Run("FollowUps", func(t *testing.T) { runFollowUps(t, open) })
	// A claim on a Redis before 7.0 (or with WaitReplicas) is
	// idem_begin.lua rather than SET NX GET (claimRecord).
	t.Run("ClaimByScript", func(t *testing.T) {
		h := open(t)
		h.s.noSetNXGet.Store(true)
		if _, fresh, err := h.s.BeginIdempotent(t.Context(), "key-1", "k", "fp", IdemOptions{}); err != nil || !fresh {
			t.Fatalf("BeginIdempotent: fresh %v, %v", fresh, err)
		}
	})
	check.mu.Lock()
	defer check.mu.Unlock()
	for _, c := range check.cross {
		t.Errorf("keys in more than one slot: %s", c)
	}
	for sha, where := range packageScripts(t) {
		if !check.seen[sha] {
			t.Errorf("the script made at %s never ran here: add a test of it to runContract (or above) so that its keys are checked", where)
		}
	}
}

// TestSlot checks storetest.Slot against the cluster specification's test
// vector and against CLUSTER KEYSLOT of a real Redis.
func TestSlot(t *testing.T) {
	t.Parallel()
	if got := storetest.Slot("123456789"); got != 0x31C3%16384 {
		t.Fatalf("Slot(123456789) = %#x, want 0x31c3 (CRC16/XMODEM)", got)
	}
	srv := storetest.RunRedis(t, "--cluster-enabled", "yes")
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr})
	t.Cleanup(func() { rdb.Close() })
	keys := []string{"", "a", "{}", "{}x", "x{}y{a}", "{a}{b}", "foo{bar}baz", "{r:832a10fffffffff}:w:1",
		workerKey(regionOfLoc(nycA), "x{y}"), idemKey("s", "k"), epochKey}
	for i := range 200 {
		keys = append(keys, fmt.Sprintf("dst:{r:%d}:w:%d", i, i*7))
	}
	for _, k := range keys {
		want, err := rdb.ClusterKeySlot(t.Context(), k).Result()
		if err != nil {
			t.Fatal(err)
		}
		if got := storetest.Slot(k); int64(got) != want {
			t.Errorf("Slot(%q) = %d, CLUSTER KEYSLOT says %d", k, got, want)
		}
	}
}

// TestKeyBuildersStayInRegionSlot checks every key builder of the package
// (each function whose name ends in Key, found in the source so that a new
// one must be listed here): a builder of a region's key lands in the
// slot of the region's tag whatever the id it embeds (braces included),
// and the others are listed as untagged, spread over the slots on purpose.
func TestKeyBuildersStayInRegionSlot(t *testing.T) {
	region := regionOfLoc(nycA)
	cell := geo.IndexCell(nycA)
	regional := map[string]func(id string) string{
		"workerKey":       func(id string) string { return workerKey(region, id) },
		"timelineKey":     func(id string) string { return timelineKey(region, id) },
		"versionKey":      func(id string) string { return versionKey(region, id) },
		"stateKey":        func(id string) string { return stateKey(region, id) },
		"bookingKey":      func(id string) string { return bookingKey(region, id) },
		"opKey":           func(id string) string { return opKey(region, id) },
		"atRiskKey":       func(string) string { return atRiskKey(region) },
		"changesKey":      func(string) string { return changesKey(region) },
		"rosterKey":       func(string) string { return rosterKey(region) },
		"claimKey":        func(id string) string { return claimKey(region, id) },
		"regionAuditKey":  func(string) string { return regionAuditKey(region) },
		"seriesKey":       func(id string) string { return seriesKey(region, id) },
		"urgentDayKey":    func(string) string { return urgentDayKey(region, t0) },
		"urgentRecentKey": func(string) string { return urgentRecentKey(region) },
		"cellKey":         func(string) string { return cellKey(cell) },
		// Integrator events' outbox (written by Apply's script), and the
		// follow-ups and feedback tallies (beside their bookings).
		"outboxKey":        func(string) string { return outboxKey(region) },
		"outboxCursorKey":  func(string) string { return outboxCursorKey(region) },
		"outboxLeaseKey":   func(string) string { return outboxLeaseKey(region) },
		"followUpKey":      func(id string) string { return followUpKey(region, id) },
		"openFollowUpsKey": func(string) string { return openFollowUpsKey(region) },
		"feedbackTallyKey": func(id string) string { return feedbackTallyKey(region, id) },
	}
	// A tenant's keys (its event stream, relay marks and webhooks) share
	// the tenant's slot, which the relay's and the deliveries' scripts use.
	const tenant = "key-0123456789ab"
	tenantKeys := map[string]func(id string) string{
		"tenantEventsKey": func(string) string { return tenantEventsKey(tenant) },
		"tenantMarksKey":  func(string) string { return tenantMarksKey(tenant) },
		"webhookKey":      func(id string) string { return webhookKey(tenant, id) },
		"webhookLeaseKey": func(id string) string { return webhookLeaseKey(tenant, id) },
	}
	// Keys with no hash tag: one record per worker, per Idempotency-Key or
	// per customer, spread over the slots on purpose; and what builds none.
	untagged := []string{"workerRegionKey", "idemKey", "customerLastKey", "legacyCustomerLastKey", "checkIdemKey"}
	for _, group := range []struct {
		whose string
		tag   string
		keys  map[string]func(id string) string
	}{{"region", regionTag(region), regional}, {"tenant", tenantTag(tenant), tenantKeys}} {
		want := storetest.Slot(group.tag)
		for name, f := range group.keys {
			for _, id := range []string{"w1", "{x}", "}{", "a{b}c", strings.Repeat("z", 256)} {
				if got := storetest.Slot(f(id)); got != want {
					t.Errorf("%s(%q) = %q is in slot %d, not the %s's %d", name, id, f(id), got, group.whose, want)
				}
			}
		}
	}
	fset := token.NewFileSet()
	files, _ := filepath.Glob("*.go")
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(fset, f, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range file.Decls {
			fn, ok := d.(*ast.FuncDecl)
			if !ok || fn.Recv != nil || !strings.HasSuffix(fn.Name.Name, "Key") {
				continue
			}
			_, isRegional := regional[fn.Name.Name]
			_, isTenant := tenantKeys[fn.Name.Name]
			if !isRegional && !isTenant && !slices.Contains(untagged, fn.Name.Name) {
				t.Errorf("%v: key builder %s is not checked: list it in TestKeyBuildersStayInRegionSlot (regional, tenant or untagged)", fset.Position(fn.Pos()), fn.Name.Name)
			}
		}
	}
}
