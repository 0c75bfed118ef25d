package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"

	"github.com/joule-site/joule"
)

// HardwareService finds the hardware models users declared. It implements
// joule.HardwareService; models are created and updated by applying manifests. The
// embedded catalog is not stored here.
type HardwareService struct {
	db *DB
}

var _ joule.HardwareService = (*HardwareService)(nil)

// NewHardwareService returns a HardwareService on db.
func NewHardwareService(db *DB) *HardwareService { return &HardwareService{db: db} }

// Models returns the user-declared models ordered by ID.
func (s *HardwareService) Models(ctx context.Context) ([]*joule.HardwareModel, error) {
	tx, err := s.db.beginRead(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.rollback(ctx)
	models, err := findModels(ctx, tx, "", nil)
	if err != nil {
		return nil, fmt.Errorf("models: %w", err)
	}
	return models, nil
}

// Model returns the user-declared model with the given ID, or ENOTFOUND.
func (s *HardwareService) Model(ctx context.Context, id string) (*joule.HardwareModel, error) {
	tx, err := s.db.beginRead(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.rollback(ctx)
	m, err := findModel(ctx, tx, id)
	if err != nil {
		return nil, err
	}
	if m == nil {
		return nil, joule.Errorf(joule.ENOTFOUND, "model %q not found", id)
	}
	return m, nil
}

const modelColumns = `id, kind, name, vendor, power_w, idle_w, hashrate_ths, gpus, gpu_model, gpu_memory_gb, price_usd, sources`

// findModel returns the model with the given ID, or nil if there is none.
func findModel(ctx context.Context, tx *tx, id string) (*joule.HardwareModel, error) {
	models, err := findModels(ctx, tx, "WHERE id = $1", []any{id})
	if err != nil {
		return nil, fmt.Errorf("model %s: %w", id, err)
	}
	if len(models) == 0 {
		return nil, nil
	}
	return models[0], nil
}

// findModels returns the models a WHERE clause selects, ordered by ID.
func findModels(ctx context.Context, tx *tx, where string, args []any) ([]*joule.HardwareModel, error) {
	rows, err := tx.query(ctx, `SELECT `+modelColumns+` FROM models `+where+` ORDER BY id`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	models := []*joule.HardwareModel{} // empty, not nil: an API lists no models as []
	for rows.Next() {
		var (
			m       joule.HardwareModel
			sources string
		)
		if err := rows.Scan(&m.ID, &m.Kind, &m.Name, &m.Vendor, &m.PowerW, &m.IdleW, &m.HashrateTHs,
			&m.GPUs, &m.GPUModel, &m.GPUMemoryGB, &m.PriceUSD, &sources); err != nil {
			return nil, err
		}
		if err := json.Unmarshal([]byte(sources), &m.Sources); err != nil {
			return nil, fmt.Errorf("model %s: decode sources: %w", m.ID, err)
		}
		if len(m.Sources) == 0 {
			m.Sources = nil
		}
		models = append(models, &m)
	}
	return models, rows.Err()
}

// upsertModel makes the stored model match m and says what it did. Stored models are
// user-declared, so m.Builtin is neither stored nor compared.
func upsertModel(ctx context.Context, tx *tx, m *joule.HardwareModel) (joule.ChangeAction, error) {
	sources := []byte("{}")
	if len(m.Sources) > 0 {
		var err error
		if sources, err = json.Marshal(m.Sources); err != nil {
			return "", fmt.Errorf("model %s: encode sources: %w", m.ID, err)
		}
	}
	old, err := findModel(ctx, tx, m.ID)
	if err != nil {
		return "", err
	}
	now := formatTime(tx.now)
	switch {
	case old == nil:
		_, err = tx.exec(ctx, `INSERT INTO models (`+modelColumns+`, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
			m.ID, m.Kind, m.Name, m.Vendor, m.PowerW, m.IdleW, m.HashrateTHs,
			m.GPUs, m.GPUModel, m.GPUMemoryGB, m.PriceUSD, string(sources), now, now)
		if err != nil {
			return "", fmt.Errorf("insert model %s: %w", m.ID, err)
		}
		return joule.Created, nil
	case sameModel(old, m):
		return joule.Unchanged, nil
	default:
		_, err = tx.exec(ctx, `UPDATE models SET kind = $1, name = $2, vendor = $3, power_w = $4, idle_w = $5,
			hashrate_ths = $6, gpus = $7, gpu_model = $8, gpu_memory_gb = $9, price_usd = $10, sources = $11, updated_at = $12
			WHERE id = $13`,
			m.Kind, m.Name, m.Vendor, m.PowerW, m.IdleW, m.HashrateTHs,
			m.GPUs, m.GPUModel, m.GPUMemoryGB, m.PriceUSD, string(sources), now, m.ID)
		if err != nil {
			return "", fmt.Errorf("update model %s: %w", m.ID, err)
		}
		return joule.Updated, nil
	}
}

// sameModel reports whether a and b agree on every declared field. A nil and an
// empty Sources are the same.
func sameModel(a, b *joule.HardwareModel) bool {
	return a.ID == b.ID &&
		a.Kind == b.Kind &&
		a.Name == b.Name &&
		a.Vendor == b.Vendor &&
		a.PowerW == b.PowerW &&
		a.IdleW == b.IdleW &&
		a.HashrateTHs == b.HashrateTHs &&
		a.GPUs == b.GPUs &&
		a.GPUModel == b.GPUModel &&
		a.GPUMemoryGB == b.GPUMemoryGB &&
		a.PriceUSD == b.PriceUSD &&
		maps.Equal(a.Sources, b.Sources)
}
