package main

import (
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/joule-site/joule"
	"github.com/joule-site/joule/history"
)

// The server's history follows the store's imports: it knows an imported node, is
// built once while they stay, again after an import, and is the embedded one after
// the last is deleted.
func TestStoreHistoryFollowsImports(t *testing.T) {
	db, err := openStore(filepath.Join(t.TempDir(), "joule.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.close() })
	ctx := t.Context()
	sh := &storeHistory{data: db.data}
	base, err := history.Default()
	if err != nil {
		t.Fatal(err)
	}
	importNode := func(price string) {
		t.Helper()
		s, err := history.ParseImport(joule.DataEnergy, "TEST:NODE", "made-up test prices", []byte("time,usd_per_mwh\n2024-03-01T00:00:00Z,"+price+"\n"))
		if err != nil {
			t.Fatal(err)
		}
		if err := db.data.ImportData(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	price := func(h *history.History) float64 {
		t.Helper()
		s, err := h.Energy("TEST:NODE")
		if err != nil {
			t.Fatal(err)
		}
		p, _ := s.PriceAt(time.Date(2024, 3, 1, 0, 30, 0, 0, time.UTC))
		return p
	}

	if h, err := sh.History(ctx); err != nil || h != base {
		t.Fatalf("no imports: %p, %v; want the embedded history", h, err)
	}
	importNode("11")
	h1, err := sh.History(ctx)
	if err != nil || !slices.Contains(h1.Nodes(), "TEST:NODE") || price(h1) != 11 {
		t.Fatalf("after an import: %v", err)
	}
	if h, _ := sh.History(ctx); h != h1 {
		t.Error("the history was built again while the imports stayed")
	}
	importNode("22")
	h2, err := sh.History(ctx)
	if err != nil || price(h2) != 22 {
		t.Fatalf("after a second import: %v", err)
	}
	if err := db.data.DeleteData(ctx, joule.DataEnergy, "TEST:NODE"); err != nil {
		t.Fatal(err)
	}
	if h, err := sh.History(ctx); err != nil || h != base {
		t.Errorf("after the delete: %p, %v; want the embedded history", h, err)
	}
}
