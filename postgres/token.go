package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/joule-site/joule"
)

// API tokens: several an account, each with a name, an expiry and a revocation
// (migration 0003). The token is kept as its hash only.

// tokenColumns are what a token's record is read from, never its hash.
const tokenColumns = `id, account, name, created_at, created_by, expires_at, revoked_at`

// AccountByTokenHash returns the account whose API token hashes to hash, if the token
// is usable at now: ENOTFOUND for no such token, EUNAUTHORIZED if it expired or was
// revoked.
func (s *LeasingStore) AccountByTokenHash(ctx context.Context, hash string, now time.Time) (*joule.Account, error) {
	row := s.db.pool.QueryRow(ctx, `SELECT a.id, a.name, a.role, coalesce(a.site, ''), t.id, t.expires_at, t.revoked_at
		FROM tokens AS t JOIN accounts AS a ON a.id = t.account WHERE t.hash = $1`, hash)
	var a joule.Account
	var t joule.APIToken
	var role string
	var expires, revoked *string
	err := row.Scan(&a.ID, &a.Name, &role, &a.Site, &t.ID, &expires, &revoked)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, joule.Errorf(joule.ENOTFOUND, "no account has this token")
	} else if err != nil {
		return nil, fmt.Errorf("find token: %w", err)
	}
	if t.ExpiresAt, err = parseNullTime(expires); err != nil {
		return nil, err
	}
	if t.RevokedAt, err = parseNullTime(revoked); err != nil {
		return nil, err
	}
	if err := t.Usable(now); err != nil {
		return nil, err
	}
	a.Role = joule.AccountRole(role)
	return &a, nil
}

// CreateToken stores a new token of an existing account with its audit row.
func (s *LeasingStore) CreateToken(ctx context.Context, t *joule.NewToken, audit *joule.Audit) error {
	tx, err := s.db.beginWrite(ctx)
	if err != nil {
		return err
	}
	defer tx.rollback(ctx)
	var n int
	if err := tx.queryRow(ctx, `SELECT count(*) FROM accounts WHERE id = $1`, t.Account).Scan(&n); err != nil {
		return fmt.Errorf("create token: %w", err)
	}
	if n == 0 {
		return joule.Errorf(joule.ENOTFOUND, "account %q not found", t.Account)
	}
	if err := insertToken(ctx, tx, t); err != nil {
		return err
	}
	if err := appendAudit(ctx, tx, audit); err != nil {
		return err
	}
	return tx.commit(ctx)
}

// insertToken adds t, of an account the transaction holds, to the tokens.
func insertToken(ctx context.Context, tx *tx, t *joule.NewToken) error {
	if err := t.Validate(); err != nil {
		return err
	}
	_, err := tx.exec(ctx, `INSERT INTO tokens (id, account, name, hash, created_at, created_by, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		t.ID, t.Account, t.Name, t.Hash, formatTime(t.CreatedAt), t.CreatedBy, nullTime(t.ExpiresAt))
	if isConstraint(err) {
		return joule.Errorf(joule.ECONFLICT, "API token %s: its id or its hash is taken", t.ID)
	} else if err != nil {
		return fmt.Errorf("insert token %s: %w", t.ID, err)
	}
	return nil
}

// Token returns a token's record by ID, or ENOTFOUND.
func (s *LeasingStore) Token(ctx context.Context, id string) (*joule.APIToken, error) {
	ts, err := scanTokens(s.db.pool.Query(ctx, `SELECT `+tokenColumns+` FROM tokens WHERE id = $1`, id))
	if err != nil {
		return nil, err
	}
	if len(ts) == 0 {
		return nil, joule.Errorf(joule.ENOTFOUND, "API token %s not found", id)
	}
	return ts[0], nil
}

// Tokens returns an account's tokens, or every account's for "", oldest first.
func (s *LeasingStore) Tokens(ctx context.Context, account string) ([]*joule.APIToken, error) {
	if account == "" {
		return scanTokens(s.db.pool.Query(ctx, `SELECT `+tokenColumns+` FROM tokens ORDER BY created_at, n`))
	}
	return scanTokens(s.db.pool.Query(ctx, `SELECT `+tokenColumns+` FROM tokens WHERE account = $1 ORDER BY created_at, n`, account))
}

// RevokeToken marks a token revoked at at, with its audit row, and returns it.
func (s *LeasingStore) RevokeToken(ctx context.Context, id string, at time.Time, audit *joule.Audit) (*joule.APIToken, error) {
	tx, err := s.db.beginWrite(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.rollback(ctx)
	ts, err := scanTokens(tx.query(ctx, `SELECT `+tokenColumns+` FROM tokens WHERE id = $1`, id))
	switch {
	case err != nil:
		return nil, err
	case len(ts) == 0:
		return nil, joule.Errorf(joule.ENOTFOUND, "API token %s not found", id)
	case !ts[0].RevokedAt.IsZero():
		return nil, joule.Errorf(joule.ECONFLICT, "API token %s was revoked at %s", id, ts[0].RevokedAt.Format(time.RFC3339))
	}
	t := ts[0]
	t.RevokedAt = at.UTC()
	if _, err := tx.exec(ctx, `UPDATE tokens SET revoked_at = $1 WHERE id = $2`, formatTime(t.RevokedAt), id); err != nil {
		return nil, fmt.Errorf("revoke token %s: %w", id, err)
	}
	if err := appendAudit(ctx, tx, audit); err != nil {
		return nil, err
	}
	if err := tx.commit(ctx); err != nil {
		return nil, fmt.Errorf("revoke token %s: commit: %w", id, err)
	}
	return t, nil
}

func scanTokens(rows pgx.Rows, err error) ([]*joule.APIToken, error) {
	if err != nil {
		return nil, fmt.Errorf("tokens: %w", err)
	}
	defer rows.Close()
	out := []*joule.APIToken{}
	for rows.Next() {
		var t joule.APIToken
		var created string
		var expires, revoked *string
		if err := rows.Scan(&t.ID, &t.Account, &t.Name, &created, &t.CreatedBy, &expires, &revoked); err != nil {
			return nil, fmt.Errorf("tokens: %w", err)
		}
		if t.CreatedAt, err = parseTime(created); err != nil {
			return nil, err
		}
		if t.ExpiresAt, err = parseNullTime(expires); err != nil {
			return nil, err
		}
		if t.RevokedAt, err = parseNullTime(revoked); err != nil {
			return nil, err
		}
		out = append(out, &t)
	}
	return out, rows.Err()
}

// nullTime is t for a nullable column: NULL for the zero time.
func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return formatTime(t)
}

// parseNullTime parses a nullable stored time: NULL is the zero time.
func parseNullTime(s *string) (time.Time, error) {
	if s == nil {
		return time.Time{}, nil
	}
	return parseTime(*s)
}
