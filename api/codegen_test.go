package api_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The modules a generated client is built with (the generator itself is
// pinned as a tool in go.mod): the runtime every client needs, and what
// oapi-codegen's default output also imports (an echo server and the
// embedded document, read with kin-openapi).
const (
	clientRuntime = "github.com/oapi-codegen/runtime v1.9.0"
	serverEcho    = "github.com/labstack/echo/v4 v4.16.0"
	specLoader    = "github.com/getkin/kin-openapi v0.142.0"
)

// TestOpenAPIGeneratesClient runs the pinned oapi-codegen (a tool
// dependency of this module: go tool oapi-codegen) on openapi.json and
// compiles what it generates, in a module of its own: a Go client (types
// and client) and oapi-codegen's whole default output (types, client, echo
// server, embedded document). An integrator's first step must work: names
// that collide with generated ones (a schema "AssignResponse" beside the
// operation assign's response type) fail here. It is skipped only when the
// modules cannot be downloaded.
func TestOpenAPIGeneratesClient(t *testing.T) {
	if testing.Short() {
		t.Skip("builds oapi-codegen and two clients (a minute or two on an empty build cache); not with -short")
	}
	t.Parallel()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command on PATH")
	}
	// In this module go.mod and go.sum are left as they are; the client's
	// own module may be completed (-mod=mod).
	run := func(dir string, args ...string) ([]byte, error) {
		cmd := exec.CommandContext(t.Context(), goBin, args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GOWORK=off")
		if dir != "." {
			cmd.Env = append(cmd.Env, "GOFLAGS=-mod=mod")
		}
		return cmd.CombinedOutput()
	}
	if out, err := run(".", "mod", "download", "github.com/oapi-codegen/oapi-codegen/v2"); err != nil {
		t.Skipf("cannot download oapi-codegen (no module proxy?): %v\n%s", err, out)
	}
	tests := []struct {
		name     string
		generate []string // -generate, none for the default
		requires []string
	}{
		{"client", []string{"-generate", "types,client"}, []string{clientRuntime}},
		{"default", nil, []string{clientRuntime, serverEcho, specLoader}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			args := append([]string{"tool", "oapi-codegen"}, tt.generate...)
			args = append(args, "-package", "client", "-o", filepath.Join(dir, "client.gen.go"), "openapi.json")
			if out, err := run(".", args...); err != nil {
				t.Fatalf("oapi-codegen on openapi.json: %v\n%s", err, out)
			}
			gomod := "module example.com/client\n\ngo 1.26.0\n\nrequire (\n\t" + strings.Join(tt.requires, "\n\t") + "\n)\n"
			if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte(gomod), 0o644); err != nil {
				t.Fatal(err)
			}
			if out, err := run(dir, "mod", "download"); err != nil {
				t.Skipf("cannot download the client's modules (no module proxy?): %v\n%s", err, out)
			}
			if out, err := run(dir, "build", "./..."); err != nil {
				t.Fatalf("the code generated from openapi.json does not compile: %v\n%s", err, out)
			}
		})
	}
}
