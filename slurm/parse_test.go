package slurm

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/joule-site/joule"
)

// The outputs under testdata were recorded from Slurm 22.05 (Debian 12) running the
// slurmtest cluster.

func readTestdata(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestParseReservations(t *testing.T) {
	for _, tc := range []struct {
		file string
		want []joule.EngineReservation
	}{
		{"show_reservation_one.txt", []joule.EngineReservation{
			{Name: "lease-b", Account: "lease-b", Nodes: []string{"n2", "n3"}, Start: utc("2026-12-08T04:00:00Z"), End: utc("2026-12-08T06:00:00Z")},
		}},
		{"show_reservations.txt", []joule.EngineReservation{
			{Name: "lease-a", Account: "lease-a", Nodes: []string{"n1"}, Start: utc("2026-12-08T00:48:59Z"), End: utc("2026-12-08T03:00:00Z")},
			{Name: "lease-b", Account: "lease-b", Nodes: []string{"n2", "n3"}, Start: utc("2026-12-08T04:00:00Z"), End: utc("2026-12-08T06:00:00Z")},
		}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			got, err := parseReservations(readTestdata(t, tc.file))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %+v\nwant %+v", got, tc.want)
			}
		})
	}
	if rs, err := parseReservations("No reservations in the system\n"); err != nil || len(rs) != 0 {
		t.Errorf("no reservations: %v, %v", rs, err)
	}
	if _, err := parseReservations("StartTime=2026-12-08T04:00:00 Nodes=n1\n"); err == nil {
		t.Error("a line without ReservationName parsed")
	}
	if _, err := parseReservations("ReservationName=x StartTime=tomorrow\n"); err == nil {
		t.Error("a bad StartTime parsed")
	}
}

func TestParseNodes(t *testing.T) {
	for _, tc := range []struct {
		file string
		want []joule.EngineNode
	}{
		{"sinfo_nodes.txt", []joule.EngineNode{
			{Name: "n1", State: joule.NodeReserved, Raw: "reserved", GPUs: 8},
			{Name: "n2", State: joule.NodeBusy, Raw: "mixed", GPUs: 8},
			{Name: "n3", State: joule.NodeDraining, Raw: "draining", Reason: "joule: demand response event 7", GPUs: 8},
		}},
		{"sinfo_drained.txt", []joule.EngineNode{
			{Name: "n1", State: joule.NodeReserved, Raw: "reserved", GPUs: 8},
			{Name: "n2", State: joule.NodeBusy, Raw: "mixed", GPUs: 8},
			{Name: "n3", State: joule.NodeDrained, Raw: "drained", Reason: "joule: demand response event 7", GPUs: 8},
		}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			got, err := parseNodes(readTestdata(t, tc.file))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %+v\nwant %+v", got, tc.want)
			}
		})
	}
	// A node in two partitions is listed twice by sinfo -N, once here; a reason may
	// hold the separator.
	got, err := parseNodes("g1|idle~|gpu:h100:4(S:0-1),gpu:a100:2|none\ng1|idle~|gpu:h100:4(S:0-1),gpu:a100:2|none\ng2|down*|(null)|joule: a|b\n")
	if err != nil {
		t.Fatal(err)
	}
	want := []joule.EngineNode{
		{Name: "g1", State: joule.NodeDown, Raw: "idle~", GPUs: 6},
		{Name: "g2", State: joule.NodeDown, Raw: "down*", Reason: "joule: a|b"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
	if _, err := parseNodes("n1|idle\n"); err == nil {
		t.Error("a short sinfo line parsed")
	}
	if _, err := parseNodes("n1|idle|gpu:h100:x|none\n"); err == nil {
		t.Error("a bad GPU count parsed")
	}
}

func TestNodeState(t *testing.T) {
	for raw, want := range map[string]joule.EngineNodeState{
		"idle": joule.NodeIdle, "planned": joule.NodeIdle, "allocated": joule.NodeBusy,
		"mixed": joule.NodeBusy, "completing": joule.NodeBusy, "reserved": joule.NodeReserved,
		"draining": joule.NodeDraining, "drained": joule.NodeDrained, "down": joule.NodeDown,
		"idle*": joule.NodeDown, "drained~": joule.NodeDown, "mixed-": joule.NodeBusy,
		"future": joule.NodeUnknown, "inval": joule.NodeUnknown,
	} {
		if got := nodeState(raw); got != want {
			t.Errorf("nodeState(%q) = %q, want %q", raw, got, want)
		}
	}
}

func TestParseUsage(t *testing.T) {
	got, ids, err := parseUsage(readTestdata(t, "sacct_jobs.txt"))
	if err != nil {
		t.Fatal(err)
	}
	want := []joule.JobUsage{
		// Started in the second its reservation did: sacct gives the id, not the name.
		{JobID: "1", Account: "lease-run", State: "COMPLETED", Start: utc("2026-12-08T01:13:30Z"), End: utc("2026-12-08T01:13:32Z"), ElapsedSec: 2, GPUs: 8},
		{JobID: "2", Account: "lease-run", Reservation: "lease-run", State: "COMPLETED", Start: utc("2026-12-08T01:13:43Z"), End: utc("2026-12-08T01:13:44Z"), ElapsedSec: 1, GPUs: 8},
		{JobID: "3", Account: "lease-s", State: "FAILED", Start: utc("2026-12-08T01:14:09Z"), End: utc("2026-12-08T01:14:11Z"), ElapsedSec: 2, GPUs: 8},
		{JobID: "4", Account: "lease-f", State: "COMPLETED", Start: utc("2026-12-08T01:14:12Z"), End: utc("2026-12-08T01:14:13Z"), ElapsedSec: 1, GPUs: 8},
		// Still running: no end, the seconds so far, half a node's GPUs.
		{JobID: "5", Account: "lease-f", State: "RUNNING", Start: utc("2026-12-08T01:14:11Z"), ElapsedSec: 5, GPUs: 4},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
	if !reflect.DeepEqual(ids, []string{"1", "", "", "", ""}) {
		t.Errorf("reservation ids to name: %q", ids)
	}
	if got[0].GPUSeconds() != 16 || got[4].GPUSeconds() != 20 {
		t.Errorf("GPU-seconds %d and %d, want 16 and 20", got[0].GPUSeconds(), got[4].GPUSeconds())
	}
	names, err := parseReservationNames(readTestdata(t, "sacctmgr_reservations.txt"))
	if err != nil || !reflect.DeepEqual(names, map[string]string{"1": "lease-run"}) {
		t.Errorf("reservation names %v, %v", names, err)
	}
	acct, ids, err := parseUsage(readTestdata(t, "sacct_account.txt"))
	if err != nil || len(acct) != 2 || len(ids) != 2 {
		t.Fatalf("one account's runs: %+v, %q, %v", acct, ids, err)
	}
	// A job cancelled before it started has no run; one run named needs no lookup.
	acct, ids, err = parseUsage("3|lease-s|||CANCELLED by 0|None|2026-12-08T00:51:08|0|\n2|lease-run|lease-run|1|COMPLETED|2026-12-08T01:13:43|2026-12-08T01:13:44|1|billing=1,cpu=1,gres/gpu=8,node=1\n")
	if err != nil || len(acct) != 1 || acct[0].JobID != "2" || ids != nil {
		t.Errorf("cancelled before start: %+v, %q, %v", acct, ids, err)
	}
	for _, bad := range []string{
		"1|a|b|1|COMPLETED|x|y\n",
		"1|a|||COMPLETED|2026-12-08T00:49:12|Unknown|-1|\n",
		"1|a|||COMPLETED|2026-12-08T00:49:12|Unknown|3|gres/gpu=x\n",
		"1|a|||COMPLETED|yesterday|Unknown|3|\n",
	} {
		if _, _, err := parseUsage(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
	if _, err := parseReservationNames("1\n"); err == nil {
		t.Error("a reservation line without a name parsed")
	}
}

func TestExpandHostlist(t *testing.T) {
	for in, want := range map[string][]string{
		"":                      nil,
		"(null)":                nil,
		"n1":                    {"n1"},
		"n[1-3]":                {"n1", "n2", "n3"},
		"n[1-2,5],gpu-a":        {"n1", "n2", "n5", "gpu-a"},
		"x[08-10]":              {"x08", "x09", "x10"},
		"r[1-2]-gpu,r9":         {"r1-gpu", "r2-gpu", "r9"},
		"a[1],b[001-002],c[7]x": {"a1", "b001", "b002", "c7x"},
	} {
		got, err := expandHostlist(in)
		if err != nil {
			t.Errorf("%q: %v", in, err)
			continue
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%q = %q, want %q", in, got, want)
		}
	}
	for _, bad := range []string{"n[3-1]", "n[1-", "n]1[", "n[a-b]", "n[1-2][3]", ",", "n[0-99999999]"} {
		if got, err := expandHostlist(bad); err == nil {
			t.Errorf("%q expanded to %q", bad, got)
		}
	}
}

func FuzzExpandHostlist(f *testing.F) {
	for _, s := range []string{"n[1-3]", "x[08-10],y", "a[1,3-4]b", "n[0-99999999]"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		names, err := expandHostlist(s)
		if err == nil && len(names) > maxHosts {
			t.Fatalf("%q: %d names", s, len(names))
		}
	})
}

func FuzzParseOutputs(f *testing.F) {
	for _, name := range []string{"show_reservations.txt", "sinfo_nodes.txt", "sacct_jobs.txt"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(b))
	}
	f.Fuzz(func(t *testing.T, s string) {
		// None may panic on what a client prints.
		parseReservations(s)
		parseNodes(s)
		parseUsage(s)
		parseReservationNames(s)
	})
}

// TestClassify maps every recorded failure of Slurm's clients to its code.
func TestClassify(t *testing.T) {
	for file, want := range map[string]string{
		"create_overlap.txt":                joule.ECONFLICT,
		"update_overlap.txt":                joule.ECONFLICT,
		"create_duplicate.txt":              joule.ECONFLICT,
		"create_bad_node.txt":               joule.EINVALID,
		"update_bad_node.txt":               joule.EINVALID,
		"drain_bad_node.txt":                joule.EINVALID,
		"create_bad_account.txt":            joule.EINVALID,
		"sacctmgr_add_user_bad_account.txt": joule.EINVALID,
		"update_not_found.txt":              joule.ENOTFOUND,
		"delete_not_found.txt":              joule.ENOTFOUND,
		"delete_in_use.txt":                 joule.ECONFLICT,
		"show_reservation_not_found.txt":    joule.ENOTFOUND,
		"requeue_no_job.txt":                joule.ENOTFOUND,
		"resume_not_drained.txt":            joule.ECONFLICT,
		"requeue_not_requeueable.txt":       joule.ECONFLICT,
		"controller_down.txt":               joule.EUNAVAILABLE,
		"submit_denied.txt":                 joule.EFORBIDDEN,
		"no_conf.txt":                       joule.EINTERNAL,
	} {
		t.Run(file, func(t *testing.T) {
			err := classify("scontrol", readTestdata(t, filepath.Join("errors", file)))
			if got := joule.ErrorCode(err); got != want {
				t.Errorf("code %q, want %q (%v)", got, want, err)
			}
		})
	}
	msg := joule.ErrorMessage(classify("scontrol", readTestdata(t, "errors/create_overlap.txt")))
	if msg != "slurm scontrol: Requested reservation overlaps with another reservation" {
		t.Errorf("message %q", msg)
	}
	for file, want := range map[string]bool{
		"sacctmgr_exists.txt":               true,
		"sacctmgr_user_exists.txt":          true,
		"sacctmgr_add_user_bad_account.txt": false,
	} {
		if got := alreadyThere(readTestdata(t, filepath.Join("errors", file)), "Nothing new added"); got != want {
			t.Errorf("%s: alreadyThere = %v, want %v", file, got, want)
		}
	}
	if !alreadyThere(readTestdata(t, "errors/sacctmgr_modify_none.txt"), "Nothing modified") {
		t.Error("sacctmgr_modify_none.txt: not taken as nothing to do")
	}
}

func TestParseReservationHistory(t *testing.T) {
	// recorded: sacctmgr -n -P show reservation format=Name,TimeStart,TimeEnd
	out := "lease-la27492|2026-12-08T04:04:04|2026-12-08T04:04:17\nlease-la27492-2|2026-12-08T04:04:17|Unknown\n"
	got, err := parseReservationHistory(out)
	want := []joule.EngineReservation{
		{Name: "lease-la27492", Start: utc("2026-12-08T04:04:04Z"), End: utc("2026-12-08T04:04:17Z")},
		{Name: "lease-la27492-2", Start: utc("2026-12-08T04:04:17Z")},
	}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v, %v\nwant %+v", got, err, want)
	}
	for _, bad := range []string{"lease-x|2026-12-08T04:04:04\n", "|2026-12-08T04:04:04|2026-12-08T04:04:17\n", "lease-x|yesterday|2026-12-08T04:04:17\n"} {
		if _, err := parseReservationHistory(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}
