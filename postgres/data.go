package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/joule-site/joule"
)

// DataService stores imported market series (migration 0004), one row each with its
// points in a blob. It implements joule.DataService.
type DataService struct {
	db *DB
}

var _ joule.DataService = (*DataService)(nil)

// NewDataService returns a DataService on db.
func NewDataService(db *DB) *DataService { return &DataService{db: db} }

// ImportData stores s in place of the series of its kind and name, in one transaction.
func (s *DataService) ImportData(ctx context.Context, series *joule.DataSeries) error {
	if err := series.Validate(); err != nil {
		return err
	}
	tx, err := s.db.beginWrite(ctx)
	if err != nil {
		return err
	}
	defer tx.rollback(ctx)
	series.Summarize()
	series.ImportedAt = s.db.Now().UTC()
	_, err = tx.exec(ctx, `INSERT INTO data_series (kind, name, source, imported_at, count, first, last, points) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
		ON CONFLICT (kind, name) DO UPDATE SET source = excluded.source, imported_at = excluded.imported_at, count = excluded.count,
		first = excluded.first, last = excluded.last, points = excluded.points`,
		string(series.Kind), series.Name, series.Source, formatTime(series.ImportedAt), series.Count,
		formatTime(series.First), formatTime(series.Last), joule.EncodeDataPoints(series.Points))
	if err != nil {
		return fmt.Errorf("import %s %s: %w", series.Kind, series.Name, err)
	}
	if err := tx.commit(ctx); err != nil {
		return fmt.Errorf("import %s %s: commit: %w", series.Kind, series.Name, err)
	}
	return nil
}

// DataSeries returns a series with its points, or ENOTFOUND.
func (s *DataService) DataSeries(ctx context.Context, kind joule.DataKind, name string) (*joule.DataSeries, error) {
	name = joule.DataName(kind, name)
	row := s.db.pool.QueryRow(ctx, `SELECT `+dataColumns+`, points FROM data_series WHERE kind = $1 AND name = $2`, string(kind), name)
	var out joule.DataSeries
	var blob []byte
	err := scanDataInfo(row.Scan, &out.DataSeriesInfo, &blob)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, dataNotFound(kind, name)
	} else if err != nil {
		return nil, fmt.Errorf("data series %s %s: %w", kind, name, err)
	}
	if out.Points, err = joule.DecodeDataPoints(blob); err != nil {
		return nil, fmt.Errorf("data series %s %s: %w", kind, name, err)
	}
	return &out, nil
}

// DataSeriesList describes every series, by kind and name.
func (s *DataService) DataSeriesList(ctx context.Context) ([]*joule.DataSeriesInfo, error) {
	rows, err := s.db.pool.Query(ctx, `SELECT `+dataColumns+` FROM data_series`)
	if err != nil {
		return nil, fmt.Errorf("data series: %w", err)
	}
	defer rows.Close()
	out := []*joule.DataSeriesInfo{}
	for rows.Next() {
		var info joule.DataSeriesInfo
		if err := scanDataInfo(rows.Scan, &info); err != nil {
			return nil, fmt.Errorf("data series: %w", err)
		}
		out = append(out, &info)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("data series: %w", err)
	}
	joule.SortDataSeries(out)
	return out, nil
}

// DeleteData removes a series, or answers ENOTFOUND.
func (s *DataService) DeleteData(ctx context.Context, kind joule.DataKind, name string) error {
	name = joule.DataName(kind, name)
	tx, err := s.db.beginWrite(ctx)
	if err != nil {
		return err
	}
	defer tx.rollback(ctx)
	tag, err := tx.exec(ctx, `DELETE FROM data_series WHERE kind = $1 AND name = $2`, string(kind), name)
	if err != nil {
		return fmt.Errorf("delete data series %s %s: %w", kind, name, err)
	}
	if tag.RowsAffected() == 0 {
		return dataNotFound(kind, name)
	}
	return tx.commit(ctx)
}

// dataColumns are what a series' description is read from.
const dataColumns = `kind, name, source, imported_at, count, first, last`

// scanDataInfo scans dataColumns, and the extra destinations after them, into info.
func scanDataInfo(scan func(...any) error, info *joule.DataSeriesInfo, extra ...any) error {
	var kind, imported, first, last string
	var count int64
	if err := scan(slices.Concat([]any{&kind, &info.Name, &info.Source, &imported, &count, &first, &last}, extra)...); err != nil {
		return err
	}
	info.Kind, info.Count = joule.DataKind(kind), int(count)
	var err error
	for _, t := range []struct {
		s  string
		to *time.Time
	}{{imported, &info.ImportedAt}, {first, &info.First}, {last, &info.Last}} {
		if *t.to, err = parseTime(t.s); err != nil {
			return err
		}
	}
	return nil
}

func dataNotFound(kind joule.DataKind, name string) error {
	return joule.Errorf(joule.ENOTFOUND, "no imported %s series %q", kind, name)
}
