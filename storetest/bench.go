package storetest

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/joule-site/joule"
)

// The benchmarks of the telemetry history that both stores run (BenchIngest,
// BenchDeviceTable): each reports its figures beside a floor the store's own bare
// SQL sets in the same run.

// BenchSite is the site the benchmarks write to; DeclareBenchSite declares it.
const BenchSite = "bench"

// DeclareBenchSite declares BenchSite through m.
func DeclareBenchSite(b testing.TB, m joule.ManifestService) {
	b.Helper()
	if _, err := m.Apply(context.Background(), &joule.Manifest{Sites: []*joule.Site{{Name: BenchSite, PowerCapW: 400_000_000, PUE: 1.1,
		Energy: joule.EnergyPriceModel{Kind: joule.EnergyFixed, FixedUSDPerMWh: 40}}}}); err != nil {
		b.Fatal(err)
	}
}

// BenchBatch is batch k of a fleet of devices read in batches of size: the devices
// size*k … size*(k+1)-1 (modulo the fleet), read at a time that moves on 15 s each
// round of the fleet, with figures like a fleet of S19s and S21s.
func BenchBatch(devices, size, k int, base time.Time) []joule.TelemetrySample {
	out := make([]joule.TelemetrySample, size)
	for j := range out {
		n := k*size + j
		i := n % devices
		at := base.Add(time.Duration(n/devices) * 15 * time.Second).Add(time.Duration(i%1000) * time.Millisecond)
		out[j] = joule.TelemetrySample{Site: BenchSite, Address: fmt.Sprintf("10.%d.%d.%d:4028", i/65536, i/256%256, i%256), Fleet: []string{"s19-xp", "s21", "s21-hydro"}[i%3],
			At: at, State: []joule.DeviceState{joule.StateRunning, joule.StateRunning, joule.StateRunning, joule.StateSleeping, joule.StateUnknown}[(i+n/devices)%5],
			PowerW: joule.Watts(3000 + (i*37+n)%600), HashrateTHs: 180 + float64((i*13+n)%400)/10, ExpectedHashrateTHs: 200, TempC: 55 + float64((i*7+n)%200)/10,
			ChipTempC: 65 + float64((i*11+n)%200)/10, FanMinRPM: 4000 + (i+n)%300, FanMaxRPM: 4400 + (i+n)%300, HardwareErrors: int64(i % 50),
			Pool: []string{"stratum+tcp://btc.pool-a.example:3333", "stratum+tcp://btc.pool-b.example:443"}[i%2], PoolState: "Alive",
			Firmware: []string{"braiins", "luxos", "stock"}[i%3], FirmwareVersion: []string{"24.09", "2025.1", "20240712"}[i%3]}
	}
	return out
}

// BenchIngest appends batches of size samples of a fleet of devices through svc and,
// in the same run, inserts the same rows through bare (the store's plain bulk insert
// into a table of the same columns, no Joule code), and reports both rates and their
// ratio. The device table is filled first, so that every batch updates known devices.
func BenchIngest(b *testing.B, svc joule.TelemetryService, devices, size int, bare func(ctx context.Context, samples []joule.TelemetrySample) error) {
	ctx := context.Background()
	base := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	k := 0
	for ; k*size < devices; k++ {
		if err := svc.AppendTelemetry(ctx, BenchSite, BenchBatch(devices, size, k, base)); err != nil {
			b.Fatal(err)
		}
	}
	var joulet, baret time.Duration
	for b.Loop() {
		batch := BenchBatch(devices, size, k, base)
		rows := slices.Clone(batch)
		t := time.Now()
		if err := svc.AppendTelemetry(ctx, BenchSite, batch); err != nil {
			b.Fatal(err)
		}
		joulet += time.Since(t)
		t = time.Now()
		if err := bare(ctx, rows); err != nil {
			b.Fatal(err)
		}
		baret += time.Since(t)
		k++
	}
	n := float64(b.N * size)
	b.ReportMetric(n/joulet.Seconds(), "samples/s")
	b.ReportMetric(n/baret.Seconds(), "bare-samples/s")
	b.ReportMetric(baret.Seconds()/joulet.Seconds(), "ingest/bare")
	// The rate a fleet polled every 15 s needs, as a share of what the store takes.
	b.ReportMetric(100_000.0/15/(n/joulet.Seconds()), "load@100k-miners")
	b.ReportMetric(0, "ns/op")
}

// BenchDeviceTable fills the device table with devices (their latest samples), then
// asks for pages of it, sorted on every key both ways, searched and filtered, and
// reports the 50th and 99th percentile of the answers' latency beside the same of
// bare (the store's plain SELECT of a page of the table, unsorted).
func BenchDeviceTable(b *testing.B, svc joule.TelemetryService, devices int, bare func(ctx context.Context) error) {
	ctx := context.Background()
	base := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	for k := 0; k*joule.MaxTelemetryBatch < devices; k++ {
		if err := svc.AppendTelemetry(ctx, BenchSite, BenchBatch(devices, min(joule.MaxTelemetryBatch, devices-k*joule.MaxTelemetryBatch), k, base)); err != nil {
			b.Fatal(err)
		}
	}
	var queries []joule.DeviceQuery
	for _, key := range joule.DeviceSorts {
		for _, desc := range []bool{false, true} {
			queries = append(queries, joule.DeviceQuery{Site: BenchSite, Sort: key, Desc: desc, Limit: 100},
				joule.DeviceQuery{Site: BenchSite, Sort: key, Desc: desc, Limit: 100, Offset: devices / 2})
		}
	}
	queries = append(queries, joule.DeviceQuery{Site: BenchSite, Q: "10.1.2", Limit: 100}, joule.DeviceQuery{Site: BenchSite, Q: "luxos", Sort: joule.DeviceSortTemp, Desc: true, Limit: 100},
		joule.DeviceQuery{Site: BenchSite, State: joule.StateUnknown, Sort: joule.DeviceSortHashrate, Limit: 100}, joule.DeviceQuery{Site: BenchSite, Q: "pool-b", State: joule.StateRunning, Limit: 100, Offset: 1000})
	if p, err := svc.Devices(ctx, queries[0]); err != nil || p.Total != devices {
		b.Fatalf("the table holds %v devices (%v), want %d", p, err, devices)
	}
	var lat, bareLat []time.Duration
	i := 0
	for b.Loop() {
		t := time.Now()
		if _, err := svc.Devices(ctx, queries[i%len(queries)]); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(t))
		t = time.Now()
		if err := bare(ctx); err != nil {
			b.Fatal(err)
		}
		bareLat = append(bareLat, time.Since(t))
		i++
	}
	p := func(d []time.Duration, q float64) float64 {
		slices.Sort(d)
		return float64(d[min(len(d)-1, int(q*float64(len(d))))].Microseconds()) / 1000
	}
	b.ReportMetric(p(lat, 0.50), "p50-ms")
	b.ReportMetric(p(lat, 0.99), "p99-ms")
	b.ReportMetric(p(bareLat, 0.99), "bare-p99-ms")
	b.ReportMetric(p(lat, 0.99)/p(bareLat, 0.99), "p99/bare")
	b.ReportMetric(0, "ns/op")
}

// DiskTables are the telemetry history's tables whose disk use the disk benchmarks
// measure: Width is a rollup tier's point width, 0 for a table of a row a point.
var DiskTables = []struct {
	Table string
	Width time.Duration
}{{"telemetry_raw", 0}, {"telemetry_5m", 5 * time.Minute}, {"telemetry_1h", time.Hour}, {"telemetry_devices", 0}}

// RollupPointBytes is the disk a point of a rollup tier of width costs, from its table's
// bytes and rows and each row's packed points (rows calls yield with each row's start
// and points). A row's own bytes (key, header, page slack) are spread over a full
// unit's points: a benchmark's hour fills an hour's unit but not a day's.
func RollupPointBytes(tableBytes, rows float64, width time.Duration, each func(yield func(at int64, blob []byte) error) error) (float64, error) {
	var blobBytes, points float64
	err := each(func(at int64, blob []byte) error {
		ps, err := joule.DecodeRollups(blob, at, width)
		blobBytes, points = blobBytes+float64(len(blob)), points+float64(len(ps))
		return err
	})
	perUnit := float64(joule.RollupUnit(width) / width)
	return ((tableBytes-blobBytes)/rows + perUnit*blobBytes/points) / perUnit, err
}

// ReportTelemetryDisk reports the bytes a point of each table costs (perPoint, by
// table) and what 10,000 miners polled every 15 s take a day after rollups, in the
// raw window and in all at joule.DefaultTelemetryRetention.
func ReportTelemetryDisk(b *testing.B, perPoint map[string]float64) {
	r := joule.DefaultTelemetryRetention
	const miners, poll = 10_000, 15 * time.Second
	b.ReportMetric(perPoint["telemetry_raw"], "raw-B/sample")
	b.ReportMetric(perPoint["telemetry_5m"], "5m-B/point")
	b.ReportMetric(perPoint["telemetry_1h"], "1h-B/point")
	b.ReportMetric(perPoint["telemetry_devices"], "device-B")
	b.ReportMetric(miners*(288*perPoint["telemetry_5m"]+24*perPoint["telemetry_1h"])/1e6, "MB/10k-miners/day")
	b.ReportMetric(miners*float64(r.Raw/poll)*perPoint["telemetry_raw"]/1e6, "MB/10k-miners-raw-window")
	b.ReportMetric(miners*(float64(r.Raw/poll)*perPoint["telemetry_raw"]+float64(r.FiveMinute/(5*time.Minute))*perPoint["telemetry_5m"]+
		float64(r.Hourly/time.Hour)*perPoint["telemetry_1h"]+perPoint["telemetry_devices"])/1e6, "MB/10k-miners-at-retention")
}
