package storetest

import (
	"cmp"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/joule-site/joule"
)

// telemetrySite declares the site the telemetry tests write to, and returns its name.
func (e *env) telemetrySite(t *testing.T) string {
	t.Helper()
	e.apply(t, &joule.Manifest{Sites: []*joule.Site{{Name: "tx-1", PowerCapW: 10_000_000, PUE: 1.1,
		Energy: joule.EnergyPriceModel{Kind: joule.EnergyFixed, FixedUSDPerMWh: 40}}}})
	return "tx-1"
}

// sample is a made-up sample of device i at at, its figures drawn from i and at so that
// sorts and rollups have something to tell apart.
func sample(site string, i int, at time.Time) joule.TelemetrySample {
	k := int(at.Unix()/15) % 7
	states := []joule.DeviceState{joule.StateRunning, joule.StateRunning, joule.StateSleeping, joule.StateOff, joule.StateRunning, joule.StateUnknown, joule.StateRamping}
	return joule.TelemetrySample{
		Site: site, Address: fmt.Sprintf("10.0.%d.%d:4028", i/200, i%200), Fleet: []string{"s19", "S21-hydro", "m50"}[i%3], At: at,
		State: states[(i+k)%len(states)], PowerW: joule.Watts(3000 + 7*i + 11*k), HashrateTHs: 100 + float64(i%13) + float64(k)/8,
		ExpectedHashrateTHs: float64(110 * (i % 4)), TempC: 60 + float64((i*3+k)%17)/2, ChipTempC: 70 + float64(k),
		FanMinRPM: 4000 + 10*k, FanMaxRPM: 5000 + 10*i%90, HardwareErrors: int64(i + k),
		Pool: []string{"stratum+tcp://btc.example:3333", "stratum+tcp://Backup.example:443", ""}[i%3], PoolState: "Alive",
		Firmware: []string{"braiins", "luxos", "stock"}[i%3], FirmwareVersion: fmt.Sprintf("2025.%d", i%5),
	}
}

// appendTelemetry appends samples and fails the test on error.
func (e *env) appendTelemetry(t *testing.T, site string, samples []joule.TelemetrySample) {
	t.Helper()
	if err := e.Telemetry.AppendTelemetry(e.ctx, site, samples); err != nil {
		t.Fatalf("AppendTelemetry: %v", err)
	}
}

// devices reads a page of the device table and fails the test on error.
func (e *env) devices(t *testing.T, q joule.DeviceQuery) *joule.DevicePage {
	t.Helper()
	p, err := e.Telemetry.Devices(e.ctx, q)
	if err != nil {
		t.Fatalf("Devices(%+v): %v", q, err)
	}
	return p
}

// quantized returns s as the store keeps it.
func quantized(s joule.TelemetrySample) joule.TelemetrySample {
	s.Quantize()
	return s
}

// A device's latest sample is its newest by time, whatever order samples come in; a
// sample sent again is ignored; a batch for an unknown site or with a bad sample
// writes nothing.
func testTelemetryLatest(t *testing.T, e *env) {
	site := e.telemetrySite(t)
	base := t0.Add(-time.Hour)
	newest, older := sample(site, 1, base.Add(30*time.Second)), sample(site, 1, base)
	other := sample(site, 2, base)
	newest.TempC = 71.26 // kept as 71.3
	e.appendTelemetry(t, site, []joule.TelemetrySample{newest, other, older})
	e.appendTelemetry(t, site, []joule.TelemetrySample{older}) // sent again, and older than the latest
	p := e.devices(t, joule.DeviceQuery{Site: site})
	want := []joule.TelemetrySample{quantized(newest), quantized(other)}
	if p.Total != 2 || !reflect.DeepEqual(p.Devices, want) {
		t.Fatalf("Devices: %d %s, want 2 %s", p.Total, jsonText(p.Devices), jsonText(want))
	}
	if p.Devices[0].TempC != 71.3 || p.Devices[0].At.Location() != time.UTC {
		t.Errorf("latest temp %v at %v, want 71.3 in UTC", p.Devices[0].TempC, p.Devices[0].At)
	}
	h, err := e.Telemetry.DeviceHistory(e.ctx, joule.HistoryQuery{Site: site, Address: newest.Address, From: base, To: base.Add(time.Minute), Resolution: joule.ResolutionRaw})
	if err != nil {
		t.Fatal(err)
	}
	if len(h.Points) != 2 || !h.Points[0].At.Equal(base.Truncate(time.Millisecond)) || h.Points[1].TempC != 71.3 {
		t.Errorf("raw history: %s, want the two samples, oldest first", jsonText(h.Points))
	}

	// A firmware update and a switch of pool show with the newer sample, not an older one.
	updated, stale := newest, older
	updated.At, updated.FirmwareVersion, updated.Pool, updated.Fleet = newest.At.Add(15*time.Second), "2026.1", "stratum+tcp://other:3333", "moved"
	stale.At, stale.Firmware = older.At.Add(time.Second), "rolled-back"
	e.appendTelemetry(t, site, []joule.TelemetrySample{updated})
	e.appendTelemetry(t, site, []joule.TelemetrySample{stale})
	p = e.devices(t, joule.DeviceQuery{Site: site, Q: newest.Address})
	if p.Total != 1 || !reflect.DeepEqual(p.Devices[0], quantized(updated)) {
		t.Errorf("after an update and a stale sample: %s, want %s", jsonText(p.Devices), jsonText(quantized(updated)))
	}

	checkCode(t, "AppendTelemetry to an unknown site", e.Telemetry.AppendTelemetry(e.ctx, "nowhere", []joule.TelemetrySample{sample("nowhere", 1, base)}), joule.ENOTFOUND)
	bad := []joule.TelemetrySample{sample(site, 3, base), sample(site, 4, base)}
	bad[1].State = "melting"
	checkCode(t, "AppendTelemetry with a bad state", e.Telemetry.AppendTelemetry(e.ctx, site, bad), joule.EINVALID)
	if p := e.devices(t, joule.DeviceQuery{Site: site}); p.Total != 2 {
		t.Errorf("after a refused batch %d devices, want 2", p.Total)
	}
	_, err = e.Telemetry.DeviceHistory(e.ctx, joule.HistoryQuery{Site: site, Address: "10.9.9.9:4028", From: base, To: t0, Resolution: joule.ResolutionRaw})
	checkCode(t, "DeviceHistory of an unknown device", err, joule.ENOTFOUND)
	_, err = e.Telemetry.Devices(e.ctx, joule.DeviceQuery{Site: site, Sort: "colour"})
	checkCode(t, "Devices sorted on an unknown key", err, joule.EINVALID)
}

// wantOrder sorts the table as a store must: on the key, then the address, in the
// key's order.
func wantOrder(devs []joule.TelemetrySample, key joule.DeviceSort, desc bool) []joule.TelemetrySample {
	out := slices.Clone(devs)
	ratio := func(d joule.TelemetrySample) float64 {
		if joule.GHs(d.ExpectedHashrateTHs) > 0 {
			return float64(joule.GHs(d.HashrateTHs)) / float64(joule.GHs(d.ExpectedHashrateTHs))
		}
		return -1
	}
	slices.SortStableFunc(out, func(a, b joule.TelemetrySample) int {
		var c int
		switch key {
		case joule.DeviceSortAddress:
			c = cmp.Compare(a.Address, b.Address)
		case joule.DeviceSortFleet:
			c = cmp.Compare(a.Fleet, b.Fleet)
		case joule.DeviceSortFirmware:
			c = cmp.Compare(a.Firmware, b.Firmware)
		case joule.DeviceSortPool:
			c = cmp.Compare(a.Pool, b.Pool)
		case joule.DeviceSortState:
			c = cmp.Compare(a.State, b.State)
		case joule.DeviceSortTemp:
			c = cmp.Compare(a.TempC, b.TempC)
		case joule.DeviceSortHashrate:
			c = cmp.Compare(ratio(a), ratio(b))
		}
		c = cmp.Or(c, cmp.Compare(a.Address, b.Address))
		if desc {
			c = -c
		}
		return c
	})
	return out
}

// Paging through a table of many devices, on every sort key in both orders, filtered
// by a search and a state, yields exactly the devices the filters keep, in order.
func testTelemetryDeviceTable(t *testing.T, e *env) {
	site := e.telemetrySite(t)
	const n = 230
	var all []joule.TelemetrySample
	for i := range n {
		all = append(all, sample(site, i, t0.Add(-time.Duration(i)*time.Second)))
	}
	e.appendTelemetry(t, site, all)
	for i := range all {
		all[i].Quantize()
	}
	for _, filter := range []struct {
		q     string
		state joule.DeviceState
	}{{"", ""}, {"BACKUP", ""}, {"10.0.1.", ""}, {"lux", joule.StateRunning}, {"", joule.StateSleeping}, {"no such device", ""}} {
		var kept []joule.TelemetrySample
		for _, d := range all {
			hay := strings.ToLower(d.Address + "\x00" + d.Fleet + "\x00" + d.Firmware + "\x00" + d.Pool)
			if strings.Contains(hay, strings.ToLower(filter.q)) && (filter.state == "" || d.State == filter.state) {
				kept = append(kept, d)
			}
		}
		for _, key := range joule.DeviceSorts {
			for _, desc := range []bool{false, true} {
				want := wantOrder(kept, key, desc)
				var got []joule.TelemetrySample
				for off := 0; ; off += 37 {
					p := e.devices(t, joule.DeviceQuery{Site: site, Sort: key, Desc: desc, Q: filter.q, State: filter.state, Offset: off, Limit: 37})
					if p.Total != len(want) {
						t.Fatalf("q %q state %q: total %d, want %d", filter.q, filter.state, p.Total, len(want))
					}
					got = append(got, p.Devices...)
					if len(p.Devices) < 37 {
						break
					}
				}
				if len(got) != len(want) {
					t.Fatalf("q %q state %q sort %s desc %v: paged %d devices, want %d", filter.q, filter.state, key, desc, len(got), len(want))
				}
				for i := range want {
					if !reflect.DeepEqual(got[i], want[i]) {
						t.Fatalf("q %q state %q sort %s desc %v: row %d is %s, want %s", filter.q, filter.state, key, desc, i, jsonText(got[i]), jsonText(want[i]))
					}
				}
			}
		}
	}
	if p := e.devices(t, joule.DeviceQuery{Site: "elsewhere"}); p.Total != 0 || len(p.Devices) != 0 {
		t.Errorf("another site's table: %s, want none", jsonText(p))
	}
}

// wantRollup rolls points up into buckets of width the way the tiers must: counts and
// extremes, means weighted by each point's samples and rounded down, the last point's
// state and errors.
func wantRollup(rows []joule.RollupRow, width time.Duration) []joule.RollupRow {
	var out []joule.RollupRow
	var sums [][4]int64
	w := width.Milliseconds()
	for _, r := range rows {
		b := r.AtMS - r.AtMS%w
		if len(out) == 0 || out[len(out)-1].AtMS != b {
			c := r
			c.AtMS = b
			out = append(out, c)
			sums = append(sums, [4]int64{})
		} else {
			o := &out[len(out)-1]
			o.N += r.N
			o.State, o.HardwareErrors = r.State, r.HardwareErrors
			o.PowerMin, o.PowerMax = min(o.PowerMin, r.PowerMin), max(o.PowerMax, r.PowerMax)
			o.GHsMin, o.GHsMax = min(o.GHsMin, r.GHsMin), max(o.GHsMax, r.GHsMax)
			o.DeciCMax, o.ChipDeciCMax = max(o.DeciCMax, r.DeciCMax), max(o.ChipDeciCMax, r.ChipDeciCMax)
			o.FanMin, o.FanMax = min(o.FanMin, r.FanMin), max(o.FanMax, r.FanMax)
		}
		s := &sums[len(sums)-1]
		s[0] += r.PowerMean * r.N
		s[1] += r.GHsMean * r.N
		s[2] += r.ExpectedGHsMean * r.N
		s[3] += r.DeciCMean * r.N
	}
	for i := range out {
		o, s := &out[i], sums[i]
		o.PowerMean, o.GHsMean, o.ExpectedGHsMean, o.DeciCMean = s[0]/o.N, s[1]/o.N, s[2]/o.N, s[3]/o.N
	}
	return out
}

// rawRow is a sample as a row of one sample.
func rawRow(s joule.TelemetrySample) joule.RollupRow {
	p, g, e, d, c := int64(s.PowerW), joule.GHs(s.HashrateTHs), joule.GHs(s.ExpectedHashrateTHs), joule.DeciC(s.TempC), joule.DeciC(s.ChipTempC)
	return joule.RollupRow{AtMS: s.At.UnixMilli(), N: 1, State: joule.StateCode(s.State), PowerMean: p, PowerMin: p, PowerMax: p,
		GHsMean: g, GHsMin: g, GHsMax: g, ExpectedGHsMean: e, DeciCMean: d, DeciCMax: d, ChipDeciCMax: c,
		FanMin: int64(s.FanMinRPM), FanMax: int64(s.FanMaxRPM), HardwareErrors: s.HardwareErrors}
}

// points are the history points of rows.
func points(rows []joule.RollupRow) []joule.HistoryPoint {
	out := []joule.HistoryPoint{}
	for _, r := range rows {
		out = append(out, r.Point())
	}
	return out
}

// history reads a device's history and fails the test on error.
func (e *env) history(t *testing.T, q joule.HistoryQuery) []joule.HistoryPoint {
	t.Helper()
	h, err := e.Telemetry.DeviceHistory(e.ctx, q)
	if err != nil {
		t.Fatalf("DeviceHistory(%+v): %v", q, err)
	}
	return h.Points
}

// rollup runs a rollup pass and fails the test on error.
func (e *env) rollup(t *testing.T, r joule.TelemetryRetention) *joule.RollupResult {
	t.Helper()
	res, err := e.Telemetry.RollupTelemetry(e.ctx, r)
	if err != nil {
		t.Fatalf("RollupTelemetry: %v", err)
	}
	return res
}

// Three hours of samples every 15 s of two devices roll up into five-minute and hourly
// points equal to those the test computes from the samples; a sample that comes late,
// within the grace, counts in its bucket at the next pass.
func testTelemetryRollup(t *testing.T, e *env) {
	site := e.telemetrySite(t)
	keepAll := joule.TelemetryRetention{Raw: 48 * time.Hour, FiveMinute: 96 * time.Hour, Hourly: 200 * time.Hour}
	start := t0.Truncate(time.Hour).Add(-3 * time.Hour) // t0's zone is whole hours off UTC
	var batch []joule.TelemetrySample
	for at := start; at.Before(t0); at = at.Add(15 * time.Second) {
		for _, i := range []int{5, 6} {
			if i == 6 && at.Minute()%10 == 3 {
				continue // a device that misses readings
			}
			batch = append(batch, sample(site, i, at.Add(time.Duration(i)*time.Millisecond)))
		}
	}
	// A sample of a bucket the first pass closes, sent after it.
	lateAt := t0.Truncate(5 * time.Minute).Add(-time.Minute)
	li := slices.IndexFunc(batch, func(s joule.TelemetrySample) bool { return !s.At.Before(lateAt) })
	late := batch[li]
	batch = slices.Delete(batch, li, li+1)
	e.appendTelemetry(t, site, batch)
	res := e.rollup(t, keepAll)
	if res.FiveMinuteRows == 0 || res.HourlyRows == 0 {
		t.Fatalf("first rollup wrote %+v, want rows in both tiers", res)
	}
	e.appendTelemetry(t, site, []joule.TelemetrySample{late})
	e.clock.Advance(10 * time.Minute)
	e.rollup(t, keepAll)
	batch = append(batch, late)
	slices.SortStableFunc(batch, func(a, b joule.TelemetrySample) int { return a.At.Compare(b.At) })

	for _, i := range []int{5, 6} {
		var raw []joule.RollupRow
		addr := sample(site, i, start).Address
		for _, s := range batch {
			if s.Address == addr {
				raw = append(raw, rawRow(quantized(s)))
			}
		}
		q := joule.HistoryQuery{Site: site, Address: addr, From: start, To: t0.Add(time.Hour)}
		q.Resolution = joule.ResolutionRaw
		checkEqual(t, fmt.Sprintf("device %d raw", i), e.history(t, q), points(raw))
		// Buckets close by the clock at the second pass: t0+10m.
		closed5 := t0.Add(10 * time.Minute).Truncate(5 * time.Minute).UnixMilli()
		closedH := t0.Add(10 * time.Minute).Truncate(time.Hour).UnixMilli()
		var in5 []joule.RollupRow
		for _, r := range raw {
			if r.AtMS < closed5 {
				in5 = append(in5, r)
			}
		}
		five := wantRollup(in5, 5*time.Minute)
		q.Resolution = joule.Resolution5Min
		checkEqual(t, fmt.Sprintf("device %d five-minute", i), e.history(t, q), points(five))
		var inH []joule.RollupRow
		for _, r := range five {
			if r.AtMS < closedH {
				inH = append(inH, r)
			}
		}
		q.Resolution = joule.ResolutionHour
		hourly := wantRollup(inH, time.Hour)
		if len(hourly) != 4 || hourly[0].N < 200 {
			t.Fatalf("device %d: the test's hourly rollup has %d hours (first of %d samples), want 4 full ones", i, len(hourly), hourly[0].N)
		}
		checkEqual(t, fmt.Sprintf("device %d hourly", i), e.history(t, q), points(hourly))
		// A window inside the range.
		q.Resolution, q.From, q.To = joule.Resolution5Min, start.Add(time.Hour), start.Add(time.Hour+15*time.Minute)
		if got := e.history(t, q); len(got) != 3 || !got[0].At.Equal(start.Add(time.Hour)) {
			t.Errorf("device %d: 15 minutes of five-minute points: %s, want 3 from %v", i, jsonText(got), start.Add(time.Hour))
		}
	}
}

// Retention deletes, tier by tier, only what is older than the tier keeps (a rollup
// tier's unit once all of it is), and a device with nothing left anywhere leaves the
// table.
func testTelemetryRetention(t *testing.T, e *env) {
	site := e.telemetrySite(t)
	r := joule.TelemetryRetention{Raw: 2 * time.Hour, FiveMinute: 6 * time.Hour, Hourly: 24 * time.Hour}
	start := t0.Truncate(time.Hour).Add(-10 * time.Hour)
	var batch []joule.TelemetrySample
	for at := start; at.Before(t0); at = at.Add(time.Minute) {
		batch = append(batch, sample(site, 1, at))
	}
	gone := sample(site, 2, t0.Add(-30*time.Hour)) // seen once, long ago
	e.appendTelemetry(t, site, append(batch, gone))
	e.rollup(t, r)
	addr := batch[0].Address
	for _, tier := range []struct {
		res  joule.Resolution
		keep time.Duration
	}{{joule.ResolutionRaw, r.Raw}, {joule.Resolution5Min, r.FiveMinute}, {joule.ResolutionHour, r.Hourly}} {
		got := e.history(t, joule.HistoryQuery{Site: site, Address: addr, From: start.Add(-time.Hour), To: t0.Add(time.Hour), Resolution: tier.res})
		if len(got) == 0 {
			t.Fatalf("%s: nothing kept", tier.res)
		}
		cutoff := t0.Add(-tier.keep)
		// The oldest point that must stay: the first at or after the cutoff, or for a
		// rollup tier the first of the stored unit (an hour of five-minute points, a
		// day of hourly ones) the cutoff falls in, which goes only once all of it is old.
		oldest := cutoff
		if w := tier.res.Bucket(); w > 0 {
			oldest = cutoff.Truncate(joule.RollupUnit(w))
			cutoff = oldest
		} else {
			oldest = cutoff.Add(time.Minute - time.Nanosecond).Truncate(time.Minute)
		}
		if got[0].At.Before(cutoff) {
			t.Errorf("%s: oldest point %v is before the cutoff %v", tier.res, got[0].At, cutoff)
		}
		if tier.keep < 10*time.Hour && !got[0].At.Equal(oldest) {
			t.Errorf("%s: oldest point %v, want %v (the first after the cutoff)", tier.res, got[0].At, oldest)
		}
		if tier.keep >= 10*time.Hour && !got[0].At.Equal(start) {
			t.Errorf("%s: oldest point %v, want the first hour %v", tier.res, got[0].At, start)
		}
	}
	p := e.devices(t, joule.DeviceQuery{Site: site})
	if p.Total != 1 || p.Devices[0].Address != addr {
		t.Errorf("after retention the table holds %s, want only %s", jsonText(p.Devices), addr)
	}
	checkCode(t, "RollupTelemetry with raw kept 10 minutes", func() error {
		_, err := e.Telemetry.RollupTelemetry(e.ctx, joule.TelemetryRetention{Raw: 10 * time.Minute, FiveMinute: time.Hour, Hourly: time.Hour})
		return err
	}(), joule.EINVALID)
}
