package storetest

import (
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/joule-site/joule"
)

// addrs names devices i from lo to hi (exclusive) as sample names them.
func addrs(lo, hi int) []string {
	var out []string
	for i := lo; i < hi; i++ {
		out = append(out, fmt.Sprintf("10.0.%d.%d:4028", i/200, i%200))
	}
	return out
}

// testDeviceTags: tags set live and by the manifest, the live one winning a key;
// replacing the manifest's leaves the live ones; the device table shows them, filters
// on tag:key=value and searches them; deleting removes them; bad input changes nothing.
func testDeviceTags(t *testing.T, e *env) {
	site := e.telemetrySite(t)
	at := t0.Add(time.Minute)
	var samples []joule.TelemetrySample
	for i := range 10 {
		samples = append(samples, sample(site, i, at))
	}
	e.appendTelemetry(t, site, samples)
	c := e.Control
	// Devices 0–5 in rack A1 by the manifest, 6–9 in B2; 3 moved to C3 live, before it
	// ever reported (a device need not have telemetry to be tagged).
	var manifest []joule.DeviceTags
	for i, a := range addrs(0, 10) {
		rack := "A1"
		if i >= 6 {
			rack = "B2"
		}
		manifest = append(manifest, joule.DeviceTags{Address: a, Tags: map[string]string{"rack": rack, "row": "3"}})
	}
	if err := c.ReplaceManifestTags(e.ctx, site, manifest); err != nil {
		t.Fatalf("ReplaceManifestTags: %v", err)
	}
	if n, err := c.SetDeviceTags(e.ctx, site, []string{addrs(3, 4)[0], "10.9.9.9:4028"}, map[string]string{"rack": "C3", "container": "c-7"}); err != nil || n != 2 {
		t.Fatalf("SetDeviceTags = %d, %v; want 2 devices", n, err)
	}
	got, err := c.DeviceTags(e.ctx, site, append(addrs(2, 4), "10.9.9.9:4028", "10.8.8.8:4028"))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]map[string]string{
		addrs(2, 3)[0]:  {"rack": "A1", "row": "3"},
		addrs(3, 4)[0]:  {"rack": "C3", "row": "3", "container": "c-7"},
		"10.9.9.9:4028": {"rack": "C3", "container": "c-7"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("DeviceTags = %v, want %v (a live tag wins its key)", got, want)
	}

	table := func(q string) []string {
		t.Helper()
		p := e.devices(t, joule.DeviceQuery{Site: site, Q: q, Limit: 100})
		var out []string
		for _, d := range p.Devices {
			out = append(out, d.Address)
		}
		if p.Total != len(out) {
			t.Fatalf("q %q: total %d, page %d", q, p.Total, len(out))
		}
		return out
	}
	if got := table("tag:rack=A1"); !slices.Equal(got, append(addrs(0, 3), addrs(4, 6)...)) {
		t.Errorf("tag:rack=A1 keeps %v: the device moved live to C3 is not in A1", got)
	}
	if got := table("tag:rack=C3"); !slices.Equal(got, addrs(3, 4)) {
		t.Errorf("tag:rack=C3 keeps %v (the tagged device that never reported has no row)", got)
	}
	if got := table("tag:rack=B2 tag:row=3"); !slices.Equal(got, addrs(6, 10)) {
		t.Errorf("two tag filters keep %v, want every one of B2", got)
	}
	if got := table("c-7"); !slices.Equal(got, addrs(3, 4)) {
		t.Errorf("a search for a tag's value keeps %v", got)
	}
	if got := table("luxos tag:rack=B2"); !slices.Equal(got, addrs(7, 8)) {
		t.Errorf("a search with a tag filter keeps %v, want the luxos device of B2", got)
	}
	p := e.devices(t, joule.DeviceQuery{Site: site, Q: "tag:container=c-7", Limit: 10})
	if len(p.Devices) != 1 || !reflect.DeepEqual(p.Devices[0].Tags, want[addrs(3, 4)[0]]) {
		t.Errorf("the device table's row carries %+v, want its tags %v", p.Devices, want[addrs(3, 4)[0]])
	}

	// Applying the manifest again without device 0 leaves the live tags.
	if err := c.ReplaceManifestTags(e.ctx, site, manifest[1:]); err != nil {
		t.Fatal(err)
	}
	got, _ = c.DeviceTags(e.ctx, site, addrs(0, 4))
	if got[addrs(0, 1)[0]] != nil || got[addrs(3, 4)[0]]["rack"] != "C3" {
		t.Errorf("after the manifest dropped device 0: %v", got)
	}
	// Deleting the live rack gives device 3 the manifest's back; deleting with no keys
	// removes every live tag.
	if n, err := c.DeleteDeviceTags(e.ctx, site, addrs(3, 4), []string{"rack"}); err != nil || n != 1 {
		t.Fatalf("DeleteDeviceTags(rack) = %d, %v; want 1", n, err)
	}
	got, _ = c.DeviceTags(e.ctx, site, addrs(3, 4))
	if got[addrs(3, 4)[0]]["rack"] != "A1" {
		t.Errorf("after deleting the live rack: %v, want the manifest's A1", got)
	}
	if n, err := c.DeleteDeviceTags(e.ctx, site, []string{"10.9.9.9:4028", addrs(3, 4)[0]}, nil); err != nil || n != 3 {
		t.Fatalf("DeleteDeviceTags(all live) = %d, %v; want 3 (two of one device, the container of the other)", n, err)
	}

	for _, bad := range []struct {
		name string
		err  error
		code string
	}{
		{"bad key", second(c.SetDeviceTags(e.ctx, site, addrs(0, 1), map[string]string{"Rack!": "x"})), joule.EINVALID},
		{"empty value", second(c.SetDeviceTags(e.ctx, site, addrs(0, 1), map[string]string{"rack": ""})), joule.EINVALID},
		{"no devices", second(c.SetDeviceTags(e.ctx, site, nil, map[string]string{"rack": "x"})), joule.EINVALID},
		{"no site", second(c.SetDeviceTags(e.ctx, "nowhere", addrs(0, 1), map[string]string{"rack": "x"})), joule.ENOTFOUND},
		{"too many", second(c.SetDeviceTags(e.ctx, site, addrs(1, 2), manyTags(joule.MaxTagsPerDevice))), joule.EINVALID},
	} {
		if joule.ErrorCode(bad.err) != bad.code {
			t.Errorf("%s: %v, want %s", bad.name, bad.err, bad.code)
		}
	}
	got, _ = c.DeviceTags(e.ctx, site, addrs(0, 2))
	if want := map[string]map[string]string{addrs(1, 2)[0]: {"rack": "A1", "row": "3"}}; !reflect.DeepEqual(got, want) {
		t.Errorf("refused changes left tags: %v, want %v", got, want)
	}
	if _, err := e.Telemetry.Devices(e.ctx, joule.DeviceQuery{Site: site, Q: "tag:rack"}); joule.ErrorCode(err) != joule.EINVALID {
		t.Errorf("a tag filter without a value: %v, want EINVALID", err)
	}
}

// manyTags is n tags that, with the manifest's two, are more than a device may carry.
func manyTags(n int) map[string]string {
	m := map[string]string{}
	for i := range n - 1 {
		m[fmt.Sprintf("k%d", i)] = "v"
	}
	return m
}

func second[T any](_ T, err error) error { return err }

// testDeviceActions: an action is stored pending with its holds (a sleep holds asleep,
// a power action at its setting, a wake ends either); the agent's result marks it done
// once; bad actions and results are refused and change nothing.
func testDeviceActions(t *testing.T, e *env) {
	site := e.telemetrySite(t)
	c := e.Control
	e.appendTelemetry(t, site, []joule.TelemetrySample{sample(site, 1, t0)}) // 10.0.0.1:4028, of fleet S21-hydro
	sleep := &joule.DeviceAction{Site: site, Kind: joule.ActionKindSleep, Addresses: []string{"10.0.0.2:4028", "10.0.0.1:4028", "10.0.0.2:4028"}, By: "ops"}
	if err := c.CreateDeviceAction(e.ctx, sleep); err != nil {
		t.Fatalf("CreateDeviceAction: %v", err)
	}
	if sleep.ID == 0 || sleep.Status != joule.ActionPending || !sleep.CreatedAt.Equal(t0) || !slices.Equal(sleep.Addresses, []string{"10.0.0.1:4028", "10.0.0.2:4028"}) {
		t.Fatalf("created %+v", sleep)
	}
	e.clock.Advance(time.Second)
	power := &joule.DeviceAction{Site: site, Kind: joule.ActionKindPower, Addresses: []string{"10.0.0.2:4028", "10.0.0.3:4028"}, LimitW: 2800, By: "ops"}
	if err := c.CreateDeviceAction(e.ctx, power); err != nil {
		t.Fatal(err)
	}
	holds, err := c.DeviceHolds(e.ctx, site)
	if err != nil {
		t.Fatal(err)
	}
	wantHolds := []joule.DeviceHold{
		{Address: "10.0.0.1:4028", Fleet: "S21-hydro", Hold: joule.HoldSleep, ActionID: sleep.ID, Since: t0.UTC(), By: "ops"},
		{Address: "10.0.0.2:4028", Hold: joule.HoldPower, LimitW: 2800, ActionID: power.ID, Since: t0.Add(time.Second).UTC(), By: "ops"},
		{Address: "10.0.0.3:4028", Hold: joule.HoldPower, LimitW: 2800, ActionID: power.ID, Since: t0.Add(time.Second).UTC(), By: "ops"},
	}
	if !reflect.DeepEqual(holds, wantHolds) {
		t.Fatalf("holds = %+v\nwant %+v", holds, wantHolds)
	}
	if got := joule.HeldAsleep(holds); !reflect.DeepEqual(got, map[string]int{"S21-hydro": 1}) {
		t.Errorf("HeldAsleep = %v, want the one of S21-hydro (the others never reported, or are held at a setting)", got)
	}
	wake := &joule.DeviceAction{Site: site, Kind: joule.ActionKindWake, Addresses: []string{"10.0.0.1:4028", "10.0.0.3:4028"}, By: "ops"}
	pool := &joule.DeviceAction{Site: site, Kind: joule.ActionKindPool, Addresses: []string{"10.0.0.4:4028"}, PoolURL: "stratum+tcp://pool.example:3333", PoolUser: "site.w1", By: "ops"}
	for _, a := range []*joule.DeviceAction{wake, pool} {
		if err := c.CreateDeviceAction(e.ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	holds, _ = c.DeviceHolds(e.ctx, site)
	if len(holds) != 1 || holds[0].Address != "10.0.0.2:4028" {
		t.Errorf("after the wake, holds = %+v, want only 10.0.0.2's", holds)
	}
	pending, err := c.DeviceActions(e.ctx, site, true, 10)
	if err != nil || len(pending) != 4 || pending[0].ID != sleep.ID || pending[3].ID != pool.ID {
		t.Fatalf("pending = %+v, %v; want the four, oldest first", pending, err)
	}
	if !reflect.DeepEqual(pending[3], pool) {
		t.Errorf("read back %+v\nwant %+v", pending[3], pool)
	}

	e.clock.Advance(time.Minute)
	res := joule.DeviceActionResult{Sent: 2, Verified: 1, Failed: 1, Failures: []joule.ActionFailure{{Address: "10.0.0.2:4028", Error: "not verified"}}}
	done, err := c.CompleteDeviceAction(e.ctx, site, sleep.ID, res)
	if err != nil || done.Status != joule.ActionDone || done.Verified != 1 || !done.DoneAt.Equal(t0.Add(time.Minute+time.Second)) {
		t.Fatalf("CompleteDeviceAction = %+v, %v", done, err)
	}
	read, _ := c.DeviceAction(e.ctx, site, sleep.ID)
	if !reflect.DeepEqual(read, done) {
		t.Errorf("read back %+v\nwant %+v", read, done)
	}
	if _, err := c.CompleteDeviceAction(e.ctx, site, sleep.ID, res); joule.ErrorCode(err) != joule.ECONFLICT {
		t.Errorf("completed twice: %v, want ECONFLICT", err)
	}
	pending, _ = c.DeviceActions(e.ctx, site, true, 10)
	all, _ := c.DeviceActions(e.ctx, site, false, 2)
	if len(pending) != 3 || len(all) != 2 || all[0].ID != pool.ID {
		t.Errorf("after one done: %d pending, newest %+v", len(pending), all)
	}

	for _, bad := range []struct {
		name string
		err  error
		code string
	}{
		{"unknown action", c.CreateDeviceAction(e.ctx, &joule.DeviceAction{Site: site, Kind: "explode", Addresses: []string{"a:1"}}), joule.EINVALID},
		{"power without setting", c.CreateDeviceAction(e.ctx, &joule.DeviceAction{Site: site, Kind: joule.ActionKindPower, Addresses: []string{"a:1"}}), joule.EINVALID},
		{"pool without URL", c.CreateDeviceAction(e.ctx, &joule.DeviceAction{Site: site, Kind: joule.ActionKindPool, Addresses: []string{"a:1"}}), joule.EINVALID},
		{"pool with a comma", c.CreateDeviceAction(e.ctx, &joule.DeviceAction{Site: site, Kind: joule.ActionKindPool, Addresses: []string{"a:1"}, PoolURL: "stratum+tcp://a,b"}), joule.EINVALID},
		{"no devices", c.CreateDeviceAction(e.ctx, &joule.DeviceAction{Site: site, Kind: joule.ActionKindSleep}), joule.EINVALID},
		{"no site", c.CreateDeviceAction(e.ctx, &joule.DeviceAction{Site: "nowhere", Kind: joule.ActionKindSleep, Addresses: []string{"a:1"}}), joule.ENOTFOUND},
		{"result over its devices", second(c.CompleteDeviceAction(e.ctx, site, power.ID, joule.DeviceActionResult{Sent: 3})), joule.EINVALID},
		{"no such action", second(c.CompleteDeviceAction(e.ctx, site, 999, joule.DeviceActionResult{})), joule.ENOTFOUND},
	} {
		if joule.ErrorCode(bad.err) != bad.code {
			t.Errorf("%s: %v, want %s", bad.name, bad.err, bad.code)
		}
	}
	if all, _ := c.DeviceActions(e.ctx, site, false, 100); len(all) != 4 {
		t.Errorf("refused actions were stored: %d actions", len(all))
	}
	if h, _ := c.DeviceHolds(e.ctx, site); len(h) != 1 {
		t.Errorf("refused actions changed holds: %+v", h)
	}
}
