package postgres

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/joule-site/joule"
)

const orderColumns = `id, account, idempotency_key, product, kind, gpus, start_at, end_at, limit_price, all_or_none,
	class, notice_sec, resale_of, status, filled_gpus, sold_gpu_hours, created_at, expires_at`

const leaseColumns = `id, order_id, tenant, product, class, notice_sec, gpus, start_at, end_at, open_ended, price, status, notice_at, end_reason, ended_by, resold`

// LoadLeasing returns, from one consistent snapshot, what rebuilds the exchange and
// its ledger: products, listings, the leases and orders q asks for, and the journal.
func (s *LeasingStore) LoadLeasing(ctx context.Context, q joule.LeasingLoad) (*joule.LeasingState, error) {
	tx, err := s.db.beginRead(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.rollback(ctx)
	st := &joule.LeasingState{}
	var lastOrder, lastLease int64
	if err := tx.queryRow(ctx, `SELECT version, last_order_seq, last_lease_seq FROM leasing_meta WHERE id = 1`).Scan(&st.Version, &lastOrder, &lastLease); err != nil {
		return nil, fmt.Errorf("load leasing: %w", err)
	}
	st.LastOrderSeq, st.LastLeaseSeq = uint64(lastOrder), uint64(lastLease)
	if st.Products, st.FillPriorities, st.CapTerms, err = loadProducts(ctx, tx); err != nil {
		return nil, fmt.Errorf("load products: %w", err)
	}
	if st.Listings, err = loadListings(ctx, tx); err != nil {
		return nil, fmt.Errorf("load listings: %w", err)
	}
	leases, err := findLeases(ctx, tx, `WHERE open_ended OR end_at >= $1 OR order_id = ANY($2) ORDER BY seq`,
		formatTime(q.LeasesSince), q.Orders)
	if err != nil {
		return nil, fmt.Errorf("load leases: %w", err)
	}
	need := append([]string(nil), q.Orders...)
	for _, l := range leases {
		st.Leases = append(st.Leases, *l)
		need = append(need, l.Order)
		for _, sh := range l.Sellers {
			if sh.ResaleOrder != "" {
				need = append(need, sh.ResaleOrder)
			}
		}
	}
	orders, err := findOrders(ctx, tx, `WHERE status IN ('open', 'partially_filled') OR created_at >= $1 OR id = ANY($2)
		ORDER BY created_at, seq`, formatTime(q.OrdersSince), need)
	if err != nil {
		return nil, fmt.Errorf("load orders: %w", err)
	}
	for _, o := range orders {
		st.Orders = append(st.Orders, *o)
	}
	if st.Journal, err = loadJournal(ctx, tx, time.Time{}, time.Time{}); err != nil {
		return nil, fmt.Errorf("load journal: %w", err)
	}
	return st, nil
}

// loadProducts returns the products, those whose fill priority is not time and those
// whose leases may be capped.
func loadProducts(ctx context.Context, tx *tx) ([]joule.Product, []joule.ProductFillPriority, []joule.CapTerms, error) {
	rows, err := tx.query(ctx, `SELECT id, model, site, gpus_per_node, fill_priority, cap_frac, capped_price_bps FROM products ORDER BY id`)
	if err != nil {
		return nil, nil, nil, err
	}
	defer rows.Close()
	var out []joule.Product
	var prios []joule.ProductFillPriority
	var caps []joule.CapTerms
	for rows.Next() {
		var p joule.Product
		var prio string
		ct := joule.CapTerms{}
		if err := rows.Scan(&p.ID, &p.Model, &p.Site, &p.GPUsPerNode, &prio, &ct.CapFrac, &ct.CappedPriceBPS); err != nil {
			return nil, nil, nil, err
		}
		if ct.Capped() {
			ct.Product = p.ID
			caps = append(caps, ct)
		}
		out = append(out, p)
		if joule.FillPriority(prio) != joule.FillByTime {
			prios = append(prios, joule.ProductFillPriority{Product: p.ID, Priority: joule.FillPriority(prio)})
		}
	}
	return out, prios, caps, rows.Err()
}

func loadListings(ctx context.Context, tx *tx) ([]joule.Listing, error) {
	rows, err := tx.query(ctx, `SELECT product, seller, servers, start_at, end_at, ask, opportunity_cost, nodes FROM listings ORDER BY product, n`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []joule.Listing
	for rows.Next() {
		var l joule.Listing
		var start, end, nodes string
		var ask int64
		if err := rows.Scan(&l.Product, &l.Seller, &l.Servers, &start, &end, &ask, &l.OpportunityCost, &nodes); err != nil {
			return nil, err
		}
		if err := parseJSONText(nodes, &l.Nodes); err != nil {
			return nil, fmt.Errorf("listing %s/%s: nodes: %w", l.Product, l.Seller, err)
		}
		l.AskMicroUSDPerGPUHour = joule.MicroUSD(ask)
		if l.Start, err = parseTime(start); err != nil {
			return nil, err
		}
		if l.End, err = parseOptTime(end); err != nil {
			return nil, err
		}
		out = append(out, l)
	}
	return out, rows.Err()
}

// loadJournal reads the journal's transactions at or after from and before to (zero
// times: no bound), in journal order, with their postings.
func loadJournal(ctx context.Context, tx *tx, from, to time.Time) ([]joule.LedgerTransaction, error) {
	where, args := journalSpan(from, to)
	rows, err := tx.query(ctx, `SELECT id, key, kind, at, tenant, order_id, lease, memo FROM ledger_transactions`+where+` ORDER BY id`, args...)
	if err != nil {
		return nil, err
	}
	var out []joule.LedgerTransaction
	for rows.Next() {
		var lt joule.LedgerTransaction
		var at string
		if err := rows.Scan(&lt.ID, &lt.Key, &lt.Kind, &at, &lt.Tenant, &lt.Order, &lt.Lease, &lt.Memo); err != nil {
			rows.Close()
			return nil, err
		}
		if lt.At, err = parseTime(at); err != nil {
			rows.Close()
			return nil, err
		}
		out = append(out, lt)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows, err = tx.query(ctx, `SELECT tx, account, amount FROM ledger_postings
		WHERE tx IN (SELECT id FROM ledger_transactions`+where+`) ORDER BY tx, seq`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	i := 0
	for rows.Next() {
		var id, amount int64
		var account string
		if err := rows.Scan(&id, &account, &amount); err != nil {
			return nil, err
		}
		for i < len(out) && out[i].ID < id {
			i++
		}
		if i == len(out) || out[i].ID != id {
			return nil, fmt.Errorf("posting of missing ledger transaction %d", id)
		}
		out[i].Postings = append(out[i].Postings, joule.LedgerPosting{Account: joule.LedgerAccount(account), Amount: joule.MicroUSD(amount)})
	}
	return out, rows.Err()
}

// journalSpan is the WHERE clause of transactions in [from, to); a zero time is no bound.
func journalSpan(from, to time.Time) (string, []any) {
	var conds []string
	var args []any
	if !from.IsZero() {
		args = append(args, formatTime(from))
		conds = append(conds, fmt.Sprintf("at >= $%d", len(args)))
	}
	if !to.IsZero() {
		args = append(args, formatTime(to))
		conds = append(conds, fmt.Sprintf("at < $%d", len(args)))
	}
	if len(conds) == 0 {
		return "", nil
	}
	return " WHERE " + strings.Join(conds, " AND "), args
}

// LedgerSpan reads the transactions in [from, to) and each account's balance at from,
// in one read transaction, so both are of the same moment.
func (s *LeasingStore) LedgerSpan(ctx context.Context, from, to time.Time, accounts ...joule.LedgerAccount) (*joule.LedgerSpan, error) {
	if from.IsZero() || to.IsZero() {
		return nil, joule.Errorf(joule.EINVALID, "ledger span: give both ends")
	}
	tx, err := s.db.beginRead(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.rollback(ctx)
	span := &joule.LedgerSpan{Opening: map[joule.LedgerAccount]joule.MicroUSD{}}
	if span.Transactions, err = loadJournal(ctx, tx, from, to); err != nil {
		return nil, fmt.Errorf("ledger span: %w", err)
	}
	names := make([]string, len(accounts))
	for i, a := range accounts {
		names[i] = string(a)
	}
	rows, err := tx.query(ctx, `SELECT p.account, SUM(p.amount) FROM ledger_postings p JOIN ledger_transactions t ON t.id = p.tx
		WHERE p.account = ANY($1) AND t.at < $2 GROUP BY p.account`, names, formatTime(from))
	if err != nil {
		return nil, fmt.Errorf("ledger span: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var a string
		var sum int64
		if err := rows.Scan(&a, &sum); err != nil {
			return nil, fmt.Errorf("ledger span: %w", err)
		}
		span.Opening[joule.LedgerAccount(a)] = joule.MicroUSD(sum)
	}
	return span, rows.Err()
}

// OrderByKey returns an account's order by idempotency key, or ENOTFOUND.
func (s *LeasingStore) OrderByKey(ctx context.Context, account, key string) (*joule.Order, error) {
	tx, err := s.db.beginRead(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.rollback(ctx)
	orders, err := findOrders(ctx, tx, `WHERE account = $1 AND idempotency_key = $2`, account, key)
	if err != nil {
		return nil, fmt.Errorf("order by key: %w", err)
	}
	if len(orders) == 0 {
		return nil, joule.Errorf(joule.ENOTFOUND, "no order of %s with idempotency key %q", account, key)
	}
	return orders[0], nil
}

// FindOrders returns the orders f selects, newest first.
func (s *LeasingStore) FindOrders(ctx context.Context, f joule.OrderFilter) ([]*joule.Order, error) {
	tx, err := s.db.beginRead(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.rollback(ctx)
	var where []string
	var args []any
	where, args = whereEq(where, args, "id", f.ID)
	where, args = whereEq(where, args, "account", f.Account)
	if f.Resting {
		where = append(where, "status IN ('open', 'partially_filled')")
	}
	q := clause(where) + ` ORDER BY seq DESC` + limit(f.Limit)
	orders, err := findOrders(ctx, tx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("find orders: %w", err)
	}
	return orders, nil
}

// FindLeases returns the leases f selects with their shares, newest first.
func (s *LeasingStore) FindLeases(ctx context.Context, f joule.LeaseFilter) ([]*joule.Lease, error) {
	tx, err := s.db.beginRead(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.rollback(ctx)
	var where []string
	var args []any
	where, args = whereEq(where, args, "id", f.ID)
	where, args = whereEq(where, args, "order_id", f.Order)
	where, args = whereEq(where, args, "tenant", f.Tenant)
	if f.Seller != "" {
		args = append(args, f.Seller)
		where = append(where, fmt.Sprintf("id IN (SELECT lease FROM lease_shares WHERE seller = $%d)", len(args)))
	}
	leases, err := findLeases(ctx, tx, clause(where)+` ORDER BY seq DESC`+limit(f.Limit), args...)
	if err != nil {
		return nil, fmt.Errorf("find leases: %w", err)
	}
	return leases, nil
}

// RecentFills returns a product's newest fills, newest first.
func (s *LeasingStore) RecentFills(ctx context.Context, product string, n int) ([]joule.FillRecord, error) {
	if n <= 0 {
		n = 20
	}
	rows, err := s.db.pool.Query(ctx, `SELECT at, product, order_id, lease, seller, resale_order, gpus, start_at, end_at, price
		FROM fills WHERE product = $1 ORDER BY id DESC LIMIT $2`, product, n)
	if err != nil {
		return nil, fmt.Errorf("recent fills: %w", err)
	}
	defer rows.Close()
	out := []joule.FillRecord{}
	for rows.Next() {
		var f joule.FillRecord
		var at, start, end string
		var price int64
		if err := rows.Scan(&at, &f.Product, &f.Order, &f.Lease, &f.Seller, &f.ResaleOrder, &f.GPUs, &start, &end, &price); err != nil {
			return nil, fmt.Errorf("recent fills: %w", err)
		}
		f.PriceMicroUSDPerGPUHour = joule.MicroUSD(price)
		if f.At, err = parseTime(at); err != nil {
			return nil, err
		}
		if f.Start, err = parseTime(start); err != nil {
			return nil, err
		}
		if f.End, err = parseTime(end); err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	return out, rows.Err()
}

// findOrders runs SELECT orders with the rest of the query in q.
func findOrders(ctx context.Context, tx *tx, q string, args ...any) ([]*joule.Order, error) {
	rows, err := tx.query(ctx, `SELECT `+orderColumns+` FROM orders `+q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []*joule.Order{}
	for rows.Next() {
		var o joule.Order
		var kind, class, status, start, end, created, expires string
		var lim int64
		if err := rows.Scan(&o.ID, &o.Account, &o.IdempotencyKey, &o.Product, &kind, &o.GPUs, &start, &end, &lim, &o.AllOrNone,
			&class, &o.NoticeSec, &o.ResaleOf, &status, &o.FilledGPUs, &o.SoldGPUHours, &created, &expires); err != nil {
			return nil, err
		}
		o.Kind, o.Class, o.Status = joule.OrderKind(kind), joule.LeaseClass(class), joule.OrderStatus(status)
		o.LimitMicroUSDPerGPUHour = joule.MicroUSD(lim)
		if err := parseTimes(&o.Start, start, &o.End, end, &o.CreatedAt, created, &o.ExpiresAt, expires); err != nil {
			return nil, err
		}
		out = append(out, &o)
	}
	return out, rows.Err()
}

// findLeases runs SELECT leases with the rest of the query in q, and reads their shares.
func findLeases(ctx context.Context, tx *tx, q string, args ...any) ([]*joule.Lease, error) {
	rows, err := tx.query(ctx, `SELECT `+leaseColumns+` FROM leases `+q, args...)
	if err != nil {
		return nil, err
	}
	out := []*joule.Lease{}
	byID := map[string]*joule.Lease{}
	var ids []string
	for rows.Next() {
		var l joule.Lease
		var class, status, start, end, notice, reason, resold string
		var price int64
		if err := rows.Scan(&l.ID, &l.Order, &l.Tenant, &l.Product, &class, &l.NoticeSec, &l.GPUs, &start, &end,
			&l.OpenEnded, &price, &status, &notice, &reason, &l.EndedBy, &resold); err != nil {
			rows.Close()
			return nil, err
		}
		if err := parseJSONText(resold, &l.Resold); err != nil {
			rows.Close()
			return nil, fmt.Errorf("lease %s: resold: %w", l.ID, err)
		}
		l.Class, l.Status, l.PriceMicroUSDPerGPUHour = joule.LeaseClass(class), joule.LeaseStatus(status), joule.MicroUSD(price)
		l.EndReason = joule.LeaseEnd(reason)
		if err := parseTimes(&l.Start, start, &l.End, end, &l.NoticeAt, notice); err != nil {
			rows.Close()
			return nil, err
		}
		l.Sellers = []joule.LeaseShare{}
		out = append(out, &l)
		byID[l.ID] = &l
		ids = append(ids, l.ID)
	}
	rows.Close()
	if err := rows.Err(); err != nil || len(ids) == 0 {
		return out, err
	}
	rows, err = tx.query(ctx, `SELECT lease, seller, resale_order, gpus, start_at, end_at, price, servers FROM lease_shares
		WHERE lease = ANY($1) ORDER BY lease, seq`, ids)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var id, start, end, servers string
		var sh joule.LeaseShare
		var price int64
		if err := rows.Scan(&id, &sh.Seller, &sh.ResaleOrder, &sh.GPUs, &start, &end, &price, &servers); err != nil {
			return nil, err
		}
		if err := parseJSONText(servers, &sh.Servers); err != nil {
			return nil, fmt.Errorf("lease %s: servers: %w", id, err)
		}
		sh.PriceMicroUSDPerGPUHour = joule.MicroUSD(price)
		if err := parseTimes(&sh.Start, start, &sh.End, end); err != nil {
			return nil, err
		}
		byID[id].Sellers = append(byID[id].Sellers, sh)
	}
	return out, rows.Err()
}

// parseTimes parses pairs of (destination, stored text); ” is the zero time.
func parseTimes(pairs ...any) error {
	for i := 0; i+1 < len(pairs); i += 2 {
		t, err := parseOptTime(pairs[i+1].(string))
		if err != nil {
			return err
		}
		*pairs[i].(*time.Time) = t
	}
	return nil
}

// whereEq adds "col = value" to a query's conditions when value is not empty.
func whereEq(where []string, args []any, col, value string) ([]string, []any) {
	if value == "" {
		return where, args
	}
	args = append(args, value)
	return append(where, fmt.Sprintf("%s = $%d", col, len(args))), args
}

func clause(where []string) string {
	if len(where) == 0 {
		return ""
	}
	return "WHERE " + strings.Join(where, " AND ")
}

func limit(n int) string {
	if n <= 0 {
		return ""
	}
	return fmt.Sprintf(" LIMIT %d", n)
}
