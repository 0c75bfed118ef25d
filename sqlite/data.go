package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/joule-site/joule"
)

// DataService stores imported market series (migration 0012), one row each with its
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
	defer tx.Rollback()
	series.Summarize()
	series.ImportedAt = tx.now
	_, err = tx.exec(ctx, `INSERT INTO data_series (kind, name, source, imported_at, count, first, last, points) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (kind, name) DO UPDATE SET source = excluded.source, imported_at = excluded.imported_at, count = excluded.count,
		first = excluded.first, last = excluded.last, points = excluded.points`,
		string(series.Kind), series.Name, series.Source, formatTime(series.ImportedAt), series.Count,
		formatTime(series.First), formatTime(series.Last), joule.EncodeDataPoints(series.Points))
	if err != nil {
		return fmt.Errorf("import %s %s: %w", series.Kind, series.Name, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("import %s %s: commit: %w", series.Kind, series.Name, err)
	}
	return nil
}

// DataSeries returns a series with its points, or ENOTFOUND.
func (s *DataService) DataSeries(ctx context.Context, kind joule.DataKind, name string) (*joule.DataSeries, error) {
	name = joule.DataName(kind, name)
	row := s.db.db.QueryRowContext(ctx, `SELECT `+dataColumns+`, points FROM data_series WHERE kind = ? AND name = ?`, string(kind), name)
	var out joule.DataSeries
	var blob []byte
	err := scanDataInfo(row.Scan, &out.DataSeriesInfo, &blob)
	if errors.Is(err, sql.ErrNoRows) {
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
	rows, err := s.db.db.QueryContext(ctx, `SELECT `+dataColumns+` FROM data_series`)
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
	defer tx.Rollback()
	res, err := tx.exec(ctx, `DELETE FROM data_series WHERE kind = ? AND name = ?`, string(kind), name)
	if err != nil {
		return fmt.Errorf("delete data series %s %s: %w", kind, name, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("delete data series %s %s: %w", kind, name, err)
	} else if n == 0 {
		return dataNotFound(kind, name)
	}
	return tx.Commit()
}

// dataColumns are what a series' description is read from.
const dataColumns = `kind, name, source, imported_at, count, first, last`

// scanDataInfo scans dataColumns, and the extra destinations after them, into info.
func scanDataInfo(scan func(...any) error, info *joule.DataSeriesInfo, extra ...any) error {
	var kind, imported, first, last string
	if err := scan(slices.Concat([]any{&kind, &info.Name, &info.Source, &imported, &info.Count, &first, &last}, extra)...); err != nil {
		return err
	}
	info.Kind = joule.DataKind(kind)
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
