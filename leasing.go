package joule

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"time"
)

// HashToken returns the hex SHA-256 of an API token: what a store keeps in place of the
// token, which is shown once when issued and never stored in clear.
func HashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// LedgerPosting is one line of a ledger transaction as a store keeps it: Amount
// (integer micro-dollars, negative to take away) added to a ledger account such as
// "tenant:acme:credit".
type LedgerPosting struct {
	Account LedgerAccount `json:"account"`
	Amount  MicroUSD      `json:"amount_micro_usd"`
}

// LedgerAccount names a ledger account, e.g. "tenant:acme:credit" (package ledger
// lists the forms).
type LedgerAccount string

// LedgerKind says what a ledger transaction was for: deposit, hold, release, capture,
// charge, hosting, energy or payout (package ledger's Kind constants).
type LedgerKind string

// LedgerTransaction is one balanced entry of the exchange's double-entry journal as a
// store keeps it: its postings sum to zero, and IDs run 1, 2, … without gaps.
type LedgerTransaction struct {
	ID       int64           `json:"id"`
	Key      string          `json:"key,omitempty"`
	Kind     LedgerKind      `json:"kind"`
	At       time.Time       `json:"at"`
	Tenant   string          `json:"tenant,omitempty"`
	Order    string          `json:"order,omitempty"`
	Lease    string          `json:"lease,omitempty"`
	Memo     string          `json:"memo,omitempty"`
	Postings []LedgerPosting `json:"postings"`
}

// NewAccount is an account to create, with its first API token (nil: none yet).
type NewAccount struct {
	Account
	Token *NewToken
}

// FillRecord is a fill as the store keeps it: when it was made and in which product.
type FillRecord struct {
	At      time.Time `json:"at"`
	Product string    `json:"product"`
	Fill
}

// LeasingChange is everything one operation of the GPU exchange changed: the matcher's
// products, listings, orders, leases and fills and the ledger transactions of the same
// operation. A store saves it in one transaction or not at all, so the exchange and the
// money never disagree.
type LeasingChange struct {
	// BaseVersion is the store version the change was computed on. A store whose
	// version differs refuses the change with ECONFLICT: another process wrote since,
	// and the caller must reload before it writes.
	BaseVersion int64
	At          time.Time // when the operation ran; stamps fills and new accounts
	Accounts    []NewAccount
	Products    []Product
	Listings    []Listing
	Orders      []Order // created or changed, saved whole
	Leases      []Lease // created or changed, saved whole with their shares
	Fills       []Fill
	Journal     []LedgerTransaction // in ID order, continuing the stored journal
	// FillPriorities are products' fill priorities that the operation set.
	FillPriorities []ProductFillPriority
	// CapTerms are products' cap terms that the operation set (the zero terms: never
	// capped).
	CapTerms []CapTerms
	// Audit is who changed what in the operation (AuditChange rows, Site "" for the
	// exchange's own log): saved in the same transaction, so that no change is stored
	// without its record. The exchange sends them only with a change that changes
	// something else: a deposit replayed by its key records nothing.
	Audit []Audit
	// LastOrderSeq and LastLeaseSeq are the highest order and lease numbers issued so
	// far, kept so that a restarted exchange never issues an ID twice.
	LastOrderSeq uint64
	LastLeaseSeq uint64
}

// LeasingLoad says what to load to rebuild the exchange.
type LeasingLoad struct {
	// LeasesSince: leases that are open-ended or end at or after it, and every lease of
	// the orders in Orders.
	LeasesSince time.Time
	Orders      []string
	// OrdersSince: orders created at or after it (the idempotency window), besides
	// resting orders and the orders the loaded leases come from or bought from.
	OrdersSince time.Time
}

// LeasingState is what a store hands back to rebuild the exchange and its ledger.
type LeasingState struct {
	Version      int64
	LastOrderSeq uint64
	LastLeaseSeq uint64
	Products     []Product
	Listings     []Listing
	Orders       []Order
	Leases       []Lease
	Journal      []LedgerTransaction // every transaction, in ID order
	// FillPriorities are the products whose fill priority is not FillByTime.
	FillPriorities []ProductFillPriority
	// CapTerms are the products whose leases may be capped (CapTerms.Capped).
	CapTerms []CapTerms
}

// OrderFilter selects orders; zero fields select everything.
type OrderFilter struct {
	ID      string
	Account string
	Resting bool // only open and partially filled orders
	Limit   int  // at most this many, newest first; 0: no limit
}

// LeaseFilter selects leases; zero fields select everything.
type LeaseFilter struct {
	ID     string
	Order  string
	Tenant string
	Seller string // leases with a share of this seller's capacity
	Limit  int    // at most this many, newest first; 0: no limit
}

// LeasingStore persists the GPU exchange: accounts and their API tokens, the
// matcher's products, listings, orders, leases and fills, and the ledger's journal.
type LeasingStore interface {
	// SaveLeasing saves operations' changes, each as if saved after the one before,
	// atomically together, and returns the new version (one more for each change);
	// ECONFLICT if the store's version is not a change's BaseVersion when its turn
	// comes, if an account exists, or if an idempotency key is taken; EINVALID if a
	// ledger transaction does not balance or does not continue the journal. Nothing is
	// saved unless all are.
	SaveLeasing(ctx context.Context, chs ...*LeasingChange) (version int64, err error)
	// LoadLeasing returns what rebuilds the exchange and the ledger.
	LoadLeasing(ctx context.Context, q LeasingLoad) (*LeasingState, error)
	// LeasingVersion returns the version the last SaveLeasing left.
	LeasingVersion(ctx context.Context) (int64, error)

	// Account returns an account by ID, or ENOTFOUND.
	Account(ctx context.Context, id string) (*Account, error)
	// Accounts returns every account by ID.
	Accounts(ctx context.Context) ([]*Account, error)
	// AccountByTokenHash returns the account whose API token hashes to hash, if the
	// token is usable at now: ENOTFOUND for no such token, and APIToken.Usable's
	// EUNAUTHORIZED for one expired or revoked.
	AccountByTokenHash(ctx context.Context, hash string, now time.Time) (*Account, error)
	// CreateToken stores a new API token of an existing account and audit, the row that
	// records its issue (nil: none), in one transaction; EINVALID if the token does not
	// validate, ENOTFOUND without the account, ECONFLICT if its ID or hash is taken.
	CreateToken(ctx context.Context, t *NewToken, audit *Audit) error
	// Token returns an API token's record by ID, or ENOTFOUND.
	Token(ctx context.Context, id string) (*APIToken, error)
	// Tokens returns an account's API tokens (every account's, for ""), expired and
	// revoked ones too, oldest first: records only, never a hash.
	Tokens(ctx context.Context, account string) ([]*APIToken, error)
	// RevokeToken marks an API token revoked at at and saves audit, the row that records
	// it (nil: none), in one transaction, and returns the token as revoked; ENOTFOUND,
	// or ECONFLICT if it was revoked before.
	RevokeToken(ctx context.Context, id string, at time.Time, audit *Audit) (*APIToken, error)

	// OrderByKey returns an account's order by idempotency key, or ENOTFOUND.
	OrderByKey(ctx context.Context, account, key string) (*Order, error)
	// FindOrders returns the orders the filter selects, newest first.
	FindOrders(ctx context.Context, f OrderFilter) ([]*Order, error)
	// FindLeases returns the leases the filter selects, newest first.
	FindLeases(ctx context.Context, f LeaseFilter) ([]*Lease, error)
	// RecentFills returns a product's newest fills, newest first, at most limit.
	RecentFills(ctx context.Context, product string, limit int) ([]FillRecord, error)

	// LedgerSpan reads, as of one moment, the ledger transactions at or after from and
	// before to in journal order, and each of accounts' balance at from.
	LedgerSpan(ctx context.Context, from, to time.Time, accounts ...LedgerAccount) (*LedgerSpan, error)
}

// LedgerSpan is a span of the journal as billing reads it.
type LedgerSpan struct {
	// Opening is each asked account's balance at the span's start: the sum of its
	// postings in earlier transactions (absent: none).
	Opening map[LedgerAccount]MicroUSD
	// Transactions are the span's, in journal order.
	Transactions []LedgerTransaction
}
