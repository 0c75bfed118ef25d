package main_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// completions runs the shell's completion request for args (the last is the word
// being completed) and returns the names offered, without descriptions.
func completions(t *testing.T, dir string, args ...string) []string {
	t.Helper()
	r := run(t, dir, append([]string{"__complete"}, args...)...)
	if r.code != 0 {
		t.Fatalf("__complete %q: exit %d: %s", args, r.code, r.stderr)
	}
	var names []string
	for _, line := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
		if line == "" || strings.HasPrefix(line, ":") || strings.HasPrefix(line, "-") {
			continue // the directive, and flags cobra offers beside the names
		}
		name, _, _ := strings.Cut(line, "\t")
		names = append(names, name)
	}
	return names
}

// TestCompletionOffersWhatExists completes sites, products, models, accounts, orders,
// leases and events from the store, and creates no store where none is.
func TestCompletionOffersWhatExists(t *testing.T) {
	empty := t.TempDir()
	if got := completions(t, empty, "dr", "--site", ""); len(got) != 0 {
		t.Errorf("without a store: %q, want nothing", got)
	}
	if _, err := os.Stat(filepath.Join(empty, "joule.db")); !os.IsNotExist(err) {
		t.Errorf("completing created a store: %v", err)
	}

	dir := t.TempDir()
	example, err := filepath.Abs("../../examples/west-texas.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"apply", "-f", example},
		{"tenant", "create", "acme", "--credit-usd", "10000"},
		{"dr", "--site", "west-texas", "--reduce-to-mw", "5", "--within", "10m", "--for", "1h"},
	} {
		if r := run(t, dir, args...); r.code != 0 {
			t.Fatalf("%q: %s", args, r.stderr)
		}
	}
	var laptop struct{ ID string }
	jsonRun(t, dir, &laptop, "token", "create", "operator", "--name", "laptop", "--json")
	var order struct{ Order struct{ ID string } }
	jsonRun(t, dir, &order, "order", "create", "--product", "h100-sxm/west-texas", "--gpus", "8", "--spot", "--bid-usd-gpu-hour", "0.01", "--as", "acme", "--json")

	tests := []struct {
		args []string
		want []string // among the names offered
		not  []string // never offered
	}{
		{[]string{"dr", "--site", ""}, []string{"west-texas"}, nil},
		{[]string{"dr", "--site", "x"}, nil, []string{"west-texas"}}, // the prefix filters
		{[]string{"book", ""}, []string{"h100-sxm/west-texas"}, nil},
		{[]string{"compare", "--gpu", ""}, []string{"h100-sxm", "b200"}, []string{"s21"}},
		{[]string{"compare", "--asic", ""}, []string{"s21"}, []string{"h100-sxm"}},
		{[]string{"tenant", "credit", ""}, []string{"acme"}, []string{"operator"}},
		{[]string{"invoice", ""}, []string{"acme"}, nil},
		{[]string{"order", "cancel", ""}, []string{order.Order.ID}, nil},
		{[]string{"dr", "cancel", "--site", "west-texas", ""}, []string{"1"}, nil},
		{[]string{"token", "create", ""}, []string{"acme", "operator"}, nil},
		{[]string{"payout", "--owner", ""}, []string{"northwind-capital"}, []string{"acme", "operator"}},
		{[]string{"owner", ""}, []string{"northwind-capital"}, []string{"acme"}},
		{[]string{"listing", "priority", ""}, []string{"h100-sxm/west-texas"}, nil},
	}
	tests = append(tests, struct {
		args []string
		want []string
		not  []string
	}{[]string{"token", "revoke", ""}, []string{laptop.ID}, nil})
	for _, tt := range tests {
		got := completions(t, dir, tt.args...)
		for _, w := range tt.want {
			if !slices.Contains(got, w) {
				t.Errorf("%q offers %q, want %q among them", tt.args, got, w)
			}
		}
		for _, n := range tt.not {
			if slices.Contains(got, n) {
				t.Errorf("%q offers %q, which it should not", tt.args, n)
			}
		}
	}
}
