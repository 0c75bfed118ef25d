package drreport

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"
	"time"
)

// CSVHeader is the header of a report's CSV: one row a point of the series, times in
// RFC 3339 UTC, power in watts, meter_w empty where the meter gave no reading.
var CSVHeader = []string{"at", "meter_w", "devices_w", "baseline_w", "target_w"}

// WriteCSV writes the report's series as CSV, with the baseline and the target on
// every row, as a spreadsheet or a settlement tool reads it.
func WriteCSV(w io.Writer, r *Report) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(CSVHeader); err != nil {
		return err
	}
	baseline := ""
	if r.Baseline.Readings > 0 {
		baseline = strconv.FormatInt(int64(r.Baseline.PowerW), 10)
	}
	target := strconv.FormatInt(int64(r.TargetW), 10)
	for _, p := range r.Series {
		meter := ""
		if p.Metered {
			meter = strconv.FormatInt(int64(p.MeterW), 10)
		}
		if err := cw.Write([]string{p.At.UTC().Format(time.RFC3339Nano), meter, strconv.FormatInt(int64(p.DevicesW), 10), baseline, target}); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// WriteText writes the report for people: the event, the baseline, the steps, the time
// to target, the shortfall and the commands by fleet, times in UTC.
func WriteText(w io.Writer, r *Report) error {
	ev := r.Event
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	at := func(t time.Time) string {
		if t.IsZero() {
			return "-"
		}
		return t.UTC().Format("2006-01-02 15:04:05.000")
	}
	since := func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return "+" + t.Sub(ev.CreatedAt).Round(time.Millisecond).String()
	}
	status := "complete"
	if !r.Complete {
		status = "up to " + at(r.At) + ", the event had not ended"
	}
	fmt.Fprintf(tw, "Demand response %d at %s: at most %s by %s (%s)\n", ev.ID, r.Site, ev.ReduceToW, at(ev.Deadline), status)
	b := r.Baseline
	if b.Readings == 0 {
		fmt.Fprintf(tw, "Baseline:\tnone: no reading from %s to %s\n", at(b.From), at(b.To))
	} else {
		source := "site meter"
		if !b.Metered {
			source = "devices' own readings (no meter)"
		}
		fmt.Fprintf(tw, "Baseline:\t%s, mean of %d readings of the %s from %s to %s\n", b.PowerW, b.Readings, source, at(b.From), at(b.To))
	}
	fmt.Fprintf(tw, "Method:\t%s\n", b.Method)
	fmt.Fprintf(tw, "Source:\t%s\n", b.Source)
	fmt.Fprintln(tw)
	s := r.Steps
	fmt.Fprintln(tw, "STEP\tAT (UTC)\tAFTER NOTICE")
	fmt.Fprintf(tw, "notice received\t%s\t0s\n", at(s.NoticeAt))
	fmt.Fprintf(tw, "plan made\t%s\t%s\n", at(s.PlanAt), since(s.PlanAt))
	fmt.Fprintf(tw, "first command sent\t%s\t%s\n", at(s.FirstSentAt), since(s.FirstSentAt))
	fmt.Fprintf(tw, "last command sent\t%s\t%s\n", at(s.LastSentAt), since(s.LastSentAt))
	fmt.Fprintf(tw, "last acknowledged\t%s\t%s\n", at(s.LastAckAt), since(s.LastAckAt))
	fmt.Fprintf(tw, "last verified\t%s\t%s\n", at(s.LastVerifiedAt), since(s.LastVerifiedAt))
	fmt.Fprintf(tw, "target reached\t%s\t%s\n", at(r.TargetReachedAt), since(r.TargetReachedAt))
	fmt.Fprintf(tw, "deadline\t%s\t%s\n", at(s.Deadline), since(s.Deadline))
	fmt.Fprintln(tw)
	switch {
	case r.TargetReachedAt.IsZero():
		fmt.Fprintf(tw, "Target:\tnot reached\n")
	case r.BeforeDeadline:
		fmt.Fprintf(tw, "Target:\treached %s after notice, %s before the deadline\n", r.TimeToTarget.Round(time.Millisecond), ev.Deadline.Sub(r.TargetReachedAt).Round(time.Millisecond))
	default:
		fmt.Fprintf(tw, "Target:\treached %s after notice, %s after the deadline\n", r.TimeToTarget.Round(time.Millisecond), r.TargetReachedAt.Sub(ev.Deadline).Round(time.Millisecond))
	}
	p := r.Performance
	if p.Readings == 0 {
		fmt.Fprintf(tw, "Held:\tno reading from the deadline on\n")
	} else {
		fmt.Fprintf(tw, "Held:\tfrom %s to %s: mean %s, peak %s (%d readings)\n", at(p.From), at(p.To), p.MeanW, p.MaxW, p.Readings)
		if b.Readings > 0 {
			fmt.Fprintf(tw, "Reduction:\t%s below the baseline, %.4f MWh\n", p.ReductionW, p.ReductionMWh)
		}
		fmt.Fprintf(tw, "Shortfall:\tat most %s above the target, %.4f MWh, for %s\n", p.ShortfallMaxW, p.ShortfallMWh, p.AboveTarget.Round(time.Millisecond))
	}
	fmt.Fprintln(tw)
	fmt.Fprintln(tw, "FLEET\tSENT\tACKED\tVERIFIED\tFAILED\tFIRST SENT\tLAST VERIFIED")
	for _, f := range r.Fleets {
		name := f.Fleet
		if name == "" {
			name = "(not in the device table)"
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%s\t%s\n", name, f.Sent, f.Acked, f.Verified, f.Failed, since(f.FirstSentAt), since(f.LastVerifiedAt))
	}
	if len(r.Fleets) == 0 {
		fmt.Fprintln(tw, "(no command)\t0\t0\t0\t0\t-\t-")
	}
	fmt.Fprintf(tw, "\n%d meter and device readings, %d audit rows (joule dr report --json has them all)\n", len(r.Series), r.AuditRows)
	return tw.Flush()
}
