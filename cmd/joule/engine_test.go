package main_test

import (
	"path/filepath"
	"strings"
	"testing"
)

// Without a workload engine a lease still shows its servers, and access says clearly
// that no engine runs; serve refuses an engine it does not know.
func TestLeaseAccessWithoutAnEngine(t *testing.T) {
	dir := t.TempDir()
	example, _ := filepath.Abs("../../examples/west-texas.yaml")
	if r := run(t, dir, "apply", "-f", example); r.code != 0 {
		t.Fatal(r.stderr)
	}
	if r := run(t, dir, "tenant", "create", "acme", "--credit-usd", "50000"); r.code != 0 {
		t.Fatal(r.stderr)
	}
	var order struct {
		Leases []struct {
			ID      string
			Sellers []struct{ Servers []string }
		}
	}
	jsonRun(t, dir, &order, "--as", "acme", "order", "create", "--product", "h100-sxm/west-texas", "--gpus", "16", "--on-demand", "--json")
	if len(order.Leases) != 1 || len(order.Leases[0].Sellers) == 0 || len(order.Leases[0].Sellers[0].Servers) != 2 {
		t.Fatalf("an on-demand lease of 16 GPUs: %+v", order)
	}
	r := run(t, dir, "--as", "acme", "lease", "access", order.Leases[0].ID)
	if r.code == 0 || !strings.Contains(r.stderr, "drives no workload engine") {
		t.Errorf("access without an engine: %d %q %q", r.code, r.stdout, r.stderr)
	}
	if r := run(t, dir, "--as", "acme", "order", "create", "--product", "h100-sxm/west-texas", "--gpus", "4", "--on-demand"); r.code == 0 || !strings.Contains(r.stderr, "whole servers") {
		t.Errorf("half a server: %d %q", r.code, r.stderr)
	}
	if r := run(t, dir, "serve", "--addr", "127.0.0.1:0", "--engine", "kubernetes"); r.code == 0 || !strings.Contains(r.stderr, "--engine") {
		t.Errorf("serve --engine kubernetes: %d %q", r.code, r.stderr)
	}
}
