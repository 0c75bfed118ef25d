package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	sqlitedrv "modernc.org/sqlite"

	"github.com/joule-site/joule"
)

// LeasingStore keeps the GPU exchange: accounts with their API tokens, the matcher's
// products, listings, orders, leases and fills, and the ledger journal. It implements
// joule.LeasingStore. Every change is one write transaction, refused unless it was
// computed on the version the store holds, so two processes on one file cannot
// overwrite each other's exchange.
type LeasingStore struct {
	db *DB
}

var _ joule.LeasingStore = (*LeasingStore)(nil)

// NewLeasingStore returns a LeasingStore on db.
func NewLeasingStore(db *DB) *LeasingStore { return &LeasingStore{db: db} }

// SaveLeasing saves operations' changes, one after another, in one transaction and
// returns the new version.
func (s *LeasingStore) SaveLeasing(ctx context.Context, chs ...*joule.LeasingChange) (int64, error) {
	tx, err := s.db.beginWrite(ctx)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	var version int64
	var lastOrder, lastLease uint64
	if err := tx.QueryRowContext(ctx, `SELECT version, last_order_seq, last_lease_seq FROM leasing_meta WHERE id = 1`).Scan(&version, &lastOrder, &lastLease); err != nil {
		return 0, fmt.Errorf("save leasing: %w", err)
	}
	for _, ch := range chs {
		if version != ch.BaseVersion {
			return 0, joule.Errorf(joule.ECONFLICT, "the exchange changed in the store (version %d, not %d): reload and try again", version, ch.BaseVersion)
		}
		for _, step := range saveSteps {
			if err := step(ctx, tx, ch); err != nil {
				return 0, err
			}
		}
		version++
		lastOrder, lastLease = max(lastOrder, ch.LastOrderSeq), max(lastLease, ch.LastLeaseSeq)
	}
	_, err = tx.exec(ctx, `UPDATE leasing_meta SET version = ?, last_order_seq = ?, last_lease_seq = ? WHERE id = 1`,
		version, int64(lastOrder), int64(lastLease))
	if err != nil {
		return 0, fmt.Errorf("save leasing: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("save leasing: commit: %w", err)
	}
	return version, nil
}

// LeasingVersion returns the version the last saved change left.
func (s *LeasingStore) LeasingVersion(ctx context.Context) (int64, error) {
	var v int64
	if err := s.db.db.QueryRowContext(ctx, `SELECT version FROM leasing_meta WHERE id = 1`).Scan(&v); err != nil {
		return 0, fmt.Errorf("leasing version: %w", err)
	}
	return v, nil
}

// saveSteps save the parts of a change, in an order that satisfies foreign keys.
var saveSteps = []func(context.Context, *tx, *joule.LeasingChange) error{
	saveAccounts, saveProducts, saveListings, saveOrders, saveLeases, saveFills, saveJournal, saveAudit,
}

// saveAccounts inserts new accounts, each with its first API token if it has one.
func saveAccounts(ctx context.Context, tx *tx, ch *joule.LeasingChange) error {
	for _, a := range ch.Accounts {
		if err := a.Validate(); err != nil {
			return err
		}
		var site any
		if a.Site != "" {
			site = a.Site
		}
		_, err := tx.exec(ctx, `INSERT INTO accounts (id, name, role, site, created_at) VALUES (?, ?, ?, ?, ?)`,
			a.ID, a.Name, string(a.Role), site, formatTime(ch.At))
		if isConstraint(err) {
			return joule.Errorf(joule.ECONFLICT, "account %q exists", a.ID)
		} else if err != nil {
			return fmt.Errorf("insert account %s: %w", a.ID, err)
		}
		if a.Token != nil {
			if a.Token.Account != a.ID {
				return joule.Errorf(joule.EINVALID, "account %s: its first token is %s's", a.ID, a.Token.Account)
			}
			if err := insertToken(ctx, tx, a.Token); err != nil {
				return err
			}
		}
	}
	return nil
}

func saveProducts(ctx context.Context, tx *tx, ch *joule.LeasingChange) error {
	for _, p := range ch.Products {
		_, err := tx.exec(ctx, `INSERT INTO products (id, model, site, gpus_per_node) VALUES (?, ?, ?, ?)
			ON CONFLICT (id) DO UPDATE SET model = excluded.model, site = excluded.site, gpus_per_node = excluded.gpus_per_node`,
			p.ID, p.Model, p.Site, p.GPUsPerNode)
		if err != nil {
			return fmt.Errorf("save product %s: %w", p.ID, err)
		}
	}
	for _, fp := range ch.FillPriorities {
		res, err := tx.exec(ctx, `UPDATE products SET fill_priority = ? WHERE id = ?`, string(fp.Priority), fp.Product)
		if err != nil {
			return fmt.Errorf("save fill priority of %s: %w", fp.Product, err)
		}
		if n, err := res.RowsAffected(); err == nil && n == 0 {
			return joule.Errorf(joule.EINVALID, "save fill priority: no product %s", fp.Product)
		}
	}
	for _, ct := range ch.CapTerms {
		res, err := tx.exec(ctx, `UPDATE products SET cap_frac = ?, capped_price_bps = ? WHERE id = ?`, ct.CapFrac, ct.CappedPriceBPS, ct.Product)
		if err != nil {
			return fmt.Errorf("save cap terms of %s: %w", ct.Product, err)
		}
		if n, err := res.RowsAffected(); err == nil && n == 0 {
			return joule.Errorf(joule.EINVALID, "save cap terms: no product %s", ct.Product)
		}
	}
	return nil
}

func saveListings(ctx context.Context, tx *tx, ch *joule.LeasingChange) error {
	for _, l := range ch.Listings {
		_, err := tx.exec(ctx, `INSERT INTO listings (product, seller, servers, start_at, end_at, ask, opportunity_cost, nodes)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (product, seller) DO UPDATE SET servers = excluded.servers, start_at = excluded.start_at,
				end_at = excluded.end_at, ask = excluded.ask, opportunity_cost = excluded.opportunity_cost, nodes = excluded.nodes`,
			l.Product, l.Seller, l.Servers, formatTime(l.Start), optTime(l.End), int64(l.AskMicroUSDPerGPUHour), l.OpportunityCost, jsonText(l.Nodes))
		if isConstraint(err) {
			return joule.Errorf(joule.EINVALID, "listing %s/%s: no such product or seller", l.Product, l.Seller)
		} else if err != nil {
			return fmt.Errorf("save listing %s/%s: %w", l.Product, l.Seller, err)
		}
	}
	return nil
}

func saveOrders(ctx context.Context, tx *tx, ch *joule.LeasingChange) error {
	for _, o := range ch.Orders {
		// Only what the exchange changes after submission is updated; the rest is as
		// first saved.
		_, err := tx.exec(ctx, `INSERT INTO orders (`+orderColumns+`, seq)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, (SELECT IFNULL(MAX(seq), 0) + 1 FROM orders))
			ON CONFLICT (id) DO UPDATE SET status = excluded.status, filled_gpus = excluded.filled_gpus,
				sold_gpu_hours = excluded.sold_gpu_hours`,
			o.ID, o.Account, o.IdempotencyKey, o.Product, string(o.Kind), o.GPUs, optTime(o.Start), optTime(o.End),
			int64(o.LimitMicroUSDPerGPUHour), o.AllOrNone, string(o.Class), o.NoticeSec, o.ResaleOf, string(o.Status),
			o.FilledGPUs, o.SoldGPUHours, formatTime(o.CreatedAt), optTime(o.ExpiresAt))
		if isConstraint(err) {
			return joule.Errorf(joule.ECONFLICT, "order %s: its account, product or idempotency key conflicts with the store", o.ID)
		} else if err != nil {
			return fmt.Errorf("save order %s: %w", o.ID, err)
		}
	}
	return nil
}

func saveLeases(ctx context.Context, tx *tx, ch *joule.LeasingChange) error {
	ids := make([]string, 0, len(ch.Leases))
	var shares [][]any
	for _, l := range ch.Leases {
		_, err := tx.exec(ctx, `INSERT INTO leases (id, order_id, tenant, product, class, notice_sec, gpus, start_at, end_at,
				open_ended, price, status, notice_at, end_reason, ended_by, resold, seq)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, (SELECT IFNULL(MAX(seq), 0) + 1 FROM leases))
			ON CONFLICT (id) DO UPDATE SET end_at = excluded.end_at, open_ended = excluded.open_ended, price = excluded.price,
				status = excluded.status, notice_at = excluded.notice_at, end_reason = excluded.end_reason, ended_by = excluded.ended_by,
				resold = excluded.resold`,
			l.ID, l.Order, l.Tenant, l.Product, string(l.Class), l.NoticeSec, l.GPUs, formatTime(l.Start), formatTime(l.End),
			l.OpenEnded, int64(l.PriceMicroUSDPerGPUHour), string(l.Status), optTime(l.NoticeAt), string(l.EndReason), l.EndedBy,
			resoldText(l.Resold))
		if isConstraint(err) {
			return joule.Errorf(joule.EINVALID, "lease %s: its order, tenant or product is not stored", l.ID)
		} else if err != nil {
			return fmt.Errorf("save lease %s: %w", l.ID, err)
		}
		ids = append(ids, l.ID)
		for i, sh := range l.Sellers {
			shares = append(shares, []any{l.ID, i, sh.Seller, sh.ResaleOrder, sh.GPUs, formatTime(sh.Start), formatTime(sh.End), int64(sh.PriceMicroUSDPerGPUHour), jsonText(sh.Servers)})
		}
	}
	if len(ids) == 0 {
		return nil
	}
	// A lease's shares change as it renews or is cut: replace them all.
	if _, err := tx.exec(ctx, `DELETE FROM lease_shares WHERE lease IN (SELECT value FROM json_each(?))`, jsonList(ids)); err != nil {
		return fmt.Errorf("save lease shares: %w", err)
	}
	if err := tx.insertRows(ctx, `INSERT INTO lease_shares (lease, seq, seller, resale_order, gpus, start_at, end_at, price, servers) VALUES `, shares); err != nil {
		return fmt.Errorf("save lease shares: %w", err)
	}
	return nil
}

func saveFills(ctx context.Context, tx *tx, ch *joule.LeasingChange) error {
	products := make(map[string]string, len(ch.Leases))
	for _, l := range ch.Leases {
		products[l.ID] = l.Product
	}
	var rows [][]any
	for _, f := range ch.Fills {
		product, ok := products[f.Lease]
		if !ok { // a fill comes with its lease; look it up if it did not
			err := tx.QueryRowContext(ctx, `SELECT product FROM leases WHERE id = ?`, f.Lease).Scan(&product)
			if errors.Is(err, sql.ErrNoRows) {
				return joule.Errorf(joule.EINVALID, "fill of lease %s: the lease is not stored", f.Lease)
			} else if err != nil {
				return fmt.Errorf("save fill of lease %s: %w", f.Lease, err)
			}
		}
		rows = append(rows, []any{formatTime(ch.At), product, f.Order, f.Lease, f.Seller, f.ResaleOrder, f.GPUs,
			formatTime(f.Start), formatTime(f.End), int64(f.PriceMicroUSDPerGPUHour)})
	}
	if err := tx.insertRows(ctx, `INSERT INTO fills (at, product, order_id, lease, seller, resale_order, gpus, start_at, end_at, price) VALUES `, rows); err != nil {
		return fmt.Errorf("save fills: %w", err)
	}
	return nil
}

// saveJournal appends ledger transactions, checking that each continues the journal
// without a gap and balances to the micro-dollar.
func saveJournal(ctx context.Context, tx *tx, ch *joule.LeasingChange) error {
	if len(ch.Journal) == 0 {
		return nil
	}
	var last sql.NullInt64
	if err := tx.QueryRowContext(ctx, `SELECT MAX(id) FROM ledger_transactions`).Scan(&last); err != nil {
		return fmt.Errorf("save journal: %w", err)
	}
	next := last.Int64 + 1
	txs := make([][]any, 0, len(ch.Journal))
	var postings [][]any
	for _, lt := range ch.Journal {
		if lt.ID != next {
			return joule.Errorf(joule.ECONFLICT, "ledger transaction %d does not continue the journal at %d", lt.ID, next)
		}
		next++
		var sum joule.MicroUSD
		for i, p := range lt.Postings {
			sum += p.Amount
			postings = append(postings, []any{lt.ID, i, p.Account, int64(p.Amount)})
		}
		if sum != 0 || len(lt.Postings) < 2 {
			return joule.Errorf(joule.EINVALID, "ledger transaction %d does not balance (off by %d)", lt.ID, sum)
		}
		txs = append(txs, []any{lt.ID, lt.Key, lt.Kind, formatTime(lt.At), lt.Tenant, lt.Order, lt.Lease, lt.Memo})
	}
	err := tx.insertRows(ctx, `INSERT INTO ledger_transactions (id, key, kind, at, tenant, order_id, lease, memo) VALUES `, txs)
	if isConstraint(err) {
		return joule.Errorf(joule.ECONFLICT, "a ledger key is taken")
	} else if err != nil {
		return fmt.Errorf("save journal: %w", err)
	}
	if err := tx.insertRows(ctx, `INSERT INTO ledger_postings (tx, seq, account, amount) VALUES `, postings); err != nil {
		return fmt.Errorf("save journal postings: %w", err)
	}
	return nil
}

// saveAudit appends the operation's audit rows, in its transaction.
func saveAudit(ctx context.Context, tx *tx, ch *joule.LeasingChange) error {
	for i := range ch.Audit {
		if err := appendAudit(ctx, tx, &ch.Audit[i]); err != nil {
			return err
		}
	}
	return nil
}

// Account returns an account by ID, or ENOTFOUND.
func (s *LeasingStore) Account(ctx context.Context, id string) (*joule.Account, error) {
	return s.oneAccount(ctx, `SELECT id, name, role, coalesce(site, '') FROM accounts WHERE id = ?`, id, "account %q not found")
}

func (s *LeasingStore) oneAccount(ctx context.Context, q, arg, notFound string) (*joule.Account, error) {
	var a joule.Account
	var role string
	stmt, err := s.db.prepared(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("find account: %w", err)
	}
	err = stmt.QueryRowContext(ctx, arg).Scan(&a.ID, &a.Name, &role, &a.Site)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, joule.Errorf(joule.ENOTFOUND, notFound, arg)
	} else if err != nil {
		return nil, fmt.Errorf("find account: %w", err)
	}
	a.Role = joule.AccountRole(role)
	return &a, nil
}

// Accounts returns every account by ID.
func (s *LeasingStore) Accounts(ctx context.Context) ([]*joule.Account, error) {
	rows, err := s.db.db.QueryContext(ctx, `SELECT id, name, role, coalesce(site, '') FROM accounts ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("accounts: %w", err)
	}
	defer rows.Close()
	out := []*joule.Account{}
	for rows.Next() {
		var a joule.Account
		var role string
		if err := rows.Scan(&a.ID, &a.Name, &role, &a.Site); err != nil {
			return nil, fmt.Errorf("accounts: %w", err)
		}
		a.Role = joule.AccountRole(role)
		out = append(out, &a)
	}
	return out, rows.Err()
}

// isConstraint reports whether err is SQLite refusing a write for a constraint: a
// unique key taken, a foreign key missing, a check failing.
func isConstraint(err error) bool {
	var e *sqlitedrv.Error
	return errors.As(err, &e) && e.Code()&0xff == 19 // SQLITE_CONSTRAINT and its extended codes
}

// optTime formats a time that may be zero: ” for none.
func optTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return formatTime(t)
}

// parseOptTime parses a stored time that may be ” (zero).
func parseOptTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	return parseTime(s)
}

// jsonText is v as stored JSON text, ” when v is empty: the servers a listing names or
// a share holds, the servers a lease resold (migration 0017).
func jsonText[T any](v []T) string {
	if len(v) == 0 {
		return ""
	}
	b, err := json.Marshal(v)
	if err != nil { // slices of strings and plain structs: cannot fail
		panic(err)
	}
	return string(b)
}

// parseJSONText reads what jsonText stored into v; ” leaves v empty.
func parseJSONText[T any](text string, v *[]T) error {
	if text == "" {
		*v = nil
		return nil
	}
	return json.Unmarshal([]byte(text), v)
}

// resoldText is what a lease resold as stored JSON text, its times in UTC as every
// stored time is.
func resoldText(rs []joule.LeaseRelease) string {
	out := make([]joule.LeaseRelease, len(rs))
	for i, r := range rs {
		r.Start, r.End = r.Start.UTC(), r.End.UTC()
		out[i] = r
	}
	return jsonText(out)
}
