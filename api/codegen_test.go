package api_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// clientRuntime is the oapi-codegen runtime the generated client is built
// with (the generator itself is pinned as a tool in go.mod).
const clientRuntime = "github.com/oapi-codegen/runtime v1.9.0"

// TestOpenAPIGeneratesClient runs the pinned oapi-codegen (a tool
// dependency of this module: go tool oapi-codegen) on openapi.json, with
// its default options for a Go client (types and client), and compiles
// what it generates in a module of its own. An integrator's first step
// must work: names that collide with generated ones (a schema
// "AssignResponse" beside the operation assign's response type) fail
// here. It is skipped only when the modules cannot be downloaded.
func TestOpenAPIGeneratesClient(t *testing.T) {
	if testing.Short() {
		t.Skip("builds oapi-codegen and a client (about a minute on an empty build cache); not with -short")
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
	dir := t.TempDir()
	if out, err := run(".", "tool", "oapi-codegen", "-generate", "types,client", "-package", "client",
		"-o", filepath.Join(dir, "client.gen.go"), "openapi.json"); err != nil {
		t.Fatalf("oapi-codegen on openapi.json: %v\n%s", err, out)
	}
	gomod := "module example.com/client\n\ngo 1.26.0\n\nrequire " + clientRuntime + "\n"
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte(gomod), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := run(dir, "mod", "download", "-x"); err != nil {
		t.Skipf("cannot download the client's runtime (no module proxy?): %v\n%s", err, out)
	}
	if out, err := run(dir, "build", "./..."); err != nil {
		t.Fatalf("the client generated from openapi.json does not compile: %v\n%s", err, out)
	}
}
