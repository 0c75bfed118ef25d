package joule

import (
	"encoding/binary"
	"slices"
	"time"
)

// The rollup tiers are stored packed: one row per device and unit of time (an hour of
// five-minute points, a day of hourly ones) holding the unit's points in a blob
// (EncodeRollups), so that a point costs its figures and not a row's keys and headers.
// The functions here are the rollup arithmetic both stores share.

// RollupUnit is the span of time one stored row of a tier holds: an hour of
// five-minute points, a day of hourly ones.
func RollupUnit(width time.Duration) time.Duration {
	if width >= time.Hour {
		return 24 * time.Hour
	}
	return time.Hour
}

// RollupSamples rolls rows of one device (raw samples or finer points, by time) up
// into buckets of width: counts and extremes over the bucket, means weighted by each
// row's samples and rounded down, state and hardware errors of the bucket's last row.
func RollupSamples(rows []RollupRow, width time.Duration) []RollupRow {
	w := width.Milliseconds()
	var out []RollupRow
	var sums [5]int64 // power, GH/s, expected GH/s, tenths of a degree, and samples
	flush := func() {
		if len(out) == 0 {
			return
		}
		o := &out[len(out)-1]
		o.PowerMean, o.GHsMean, o.ExpectedGHsMean, o.DeciCMean = sums[0]/o.N, sums[1]/o.N, sums[2]/o.N, sums[3]/o.N
	}
	for _, r := range rows {
		b := r.AtMS - r.AtMS%w
		if len(out) == 0 || out[len(out)-1].AtMS != b {
			flush()
			c := r
			c.AtMS = b
			out = append(out, c)
			sums = [5]int64{r.PowerMean * r.N, r.GHsMean * r.N, r.ExpectedGHsMean * r.N, r.DeciCMean * r.N}
			continue
		}
		o := &out[len(out)-1]
		o.N += r.N
		o.State, o.HardwareErrors = r.State, r.HardwareErrors
		sums[0] += r.PowerMean * r.N
		sums[1] += r.GHsMean * r.N
		sums[2] += r.ExpectedGHsMean * r.N
		sums[3] += r.DeciCMean * r.N
		o.PowerMin, o.PowerMax = min(o.PowerMin, r.PowerMin), max(o.PowerMax, r.PowerMax)
		o.GHsMin, o.GHsMax = min(o.GHsMin, r.GHsMin), max(o.GHsMax, r.GHsMax)
		o.DeciCMax, o.ChipDeciCMax = max(o.DeciCMax, r.DeciCMax), max(o.ChipDeciCMax, r.ChipDeciCMax)
		o.FanMin, o.FanMax = min(o.FanMin, r.FanMin), max(o.FanMax, r.FanMax)
	}
	flush()
	return out
}

// MergeRollups returns old's points outside [from, to) with fresh's in place of those
// inside, by time: a pass that recomputes part of a unit keeps the rest of it.
func MergeRollups(old, fresh []RollupRow, from, to int64) []RollupRow {
	out := make([]RollupRow, 0, len(old)+len(fresh))
	for _, r := range old {
		if r.AtMS < from || r.AtMS >= to {
			out = append(out, r)
		}
	}
	out = append(out, fresh...)
	slices.SortStableFunc(out, func(a, b RollupRow) int { return int(min(max(a.AtMS-b.AtMS, -1), 1)) })
	return out
}

// EncodeRollups packs the points of a unit that starts at startMS, buckets of width,
// by time: each point as varints, its bucket's index and each mean as the change from
// the point before, its extremes as their distance from its mean, so that a steady
// miner's point takes a couple of dozen bytes.
func EncodeRollups(points []RollupRow, startMS int64, width time.Duration) []byte {
	w := width.Milliseconds()
	buf := make([]byte, 0, 24*len(points))
	var prev RollupRow
	for _, p := range points {
		buf = binary.AppendUvarint(buf, uint64((p.AtMS-startMS)/w))
		for _, d := range [][2]int64{{p.N, prev.N}, {p.State, prev.State}, {p.PowerMean, prev.PowerMean}, {p.GHsMean, prev.GHsMean},
			{p.ExpectedGHsMean, prev.ExpectedGHsMean}, {p.DeciCMean, prev.DeciCMean}, {p.ChipDeciCMax, prev.ChipDeciCMax},
			{p.FanMin, prev.FanMin}, {p.HardwareErrors, prev.HardwareErrors}} {
			buf = binary.AppendVarint(buf, d[0]-d[1])
		}
		for _, d := range []int64{p.PowerMean - p.PowerMin, p.PowerMax - p.PowerMean, p.GHsMean - p.GHsMin, p.GHsMax - p.GHsMean,
			p.DeciCMax - p.DeciCMean, p.FanMax - p.FanMin} {
			buf = binary.AppendVarint(buf, d)
		}
		prev = p
	}
	return buf
}

// DecodeRollups unpacks what EncodeRollups packed.
func DecodeRollups(b []byte, startMS int64, width time.Duration) ([]RollupRow, error) {
	w := width.Milliseconds()
	var out []RollupRow
	var prev RollupRow
	bad := Errorf(EINTERNAL, "a stored rollup is corrupt")
	for len(b) > 0 {
		idx, n := binary.Uvarint(b)
		if n <= 0 {
			return nil, bad
		}
		b = b[n:]
		var v [15]int64
		for i := range v {
			x, n := binary.Varint(b)
			if n <= 0 {
				return nil, bad
			}
			v[i], b = x, b[n:]
		}
		p := RollupRow{AtMS: startMS + int64(idx)*w, N: prev.N + v[0], State: prev.State + v[1], PowerMean: prev.PowerMean + v[2], GHsMean: prev.GHsMean + v[3],
			ExpectedGHsMean: prev.ExpectedGHsMean + v[4], DeciCMean: prev.DeciCMean + v[5], ChipDeciCMax: prev.ChipDeciCMax + v[6],
			FanMin: prev.FanMin + v[7], HardwareErrors: prev.HardwareErrors + v[8]}
		p.PowerMin, p.PowerMax = p.PowerMean-v[9], p.PowerMean+v[10]
		p.GHsMin, p.GHsMax = p.GHsMean-v[11], p.GHsMean+v[12]
		p.DeciCMax, p.FanMax = p.DeciCMean+v[13], p.FanMin+v[14]
		out = append(out, p)
		prev = p
	}
	return out, nil
}
