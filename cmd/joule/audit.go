package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/joule-site/joule"
	jhttp "github.com/joule-site/joule/http"
)

// followEvery is how often `joule audit --follow` asks for new events.
const followEvery = 2 * time.Second

func newAuditCmd(g *globals) *cobra.Command {
	var (
		q      joule.AuditQuery
		tail   int
		kinds  []string
		follow bool
		unfold bool
	)
	cmd := &cobra.Command{
		Use:   "audit [--site NAME] [--tail N] [--kind K,...] [--device ADDR] [--follow]",
		Short: "Show an audit log: a site's events, plans, commands, acknowledgements and verifications; without --site, the exchange's own (operator)",
		Long: `audit prints a site's audit log, oldest first, or without --site the exchange's own
log of accounts, tokens and credit. --tail N shows the newest N; --kind and --device keep
only those events; --follow keeps printing new events as they come, until Ctrl-C. A run of
plans for the same reason prints as its first line and a count (--unfold prints each).`,
		Example: `  joule audit --site west-texas --tail 50
  joule audit --site west-texas --kind command,verify --device 127.0.0.2:4028
  joule audit --site west-texas --tail 20 --follow`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			for _, k := range kinds {
				q.Kinds = append(q.Kinds, joule.AuditKind(k))
			}
			if tail > 0 {
				q.Limit, q.Tail = tail, true
			}
			if err := q.Validate(); err != nil {
				return joule.Errorf(joule.EINVALID, "--%s", joule.ErrorMessage(err)) // "--kind: one of …"
			}
			return withClient(cmd.Context(), g, func(c *jhttp.Client) error {
				p := &auditPrinter{out: cmd.OutOrStdout(), json: g.json, fold: !unfold}
				log, err := c.Audit(cmd.Context(), q)
				if err != nil {
					return err
				}
				if err := p.print(log, !follow); err != nil || !follow {
					return err
				}
				return followAudit(cmd.Context(), c, q, log, p)
			})
		},
	}
	cmd.Flags().StringVar(&q.Site, "site", "", "the site (default: the exchange's log of accounts, tokens and credit)")
	cmd.Flags().Int64Var(&q.After, "after", 0, "show events after this id")
	cmd.Flags().IntVar(&tail, "tail", 0, "show the newest N events")
	cmd.Flags().StringSliceVar(&kinds, "kind", nil, fmt.Sprintf("only events of these kinds (%s)", kindList()))
	cmd.Flags().StringVar(&q.Device, "device", "", "only events of this device (its address, e.g. 127.0.0.2:4028)")
	cmd.Flags().BoolVar(&follow, "follow", false, "keep printing new events until interrupted")
	cmd.Flags().BoolVar(&unfold, "unfold", false, "print every plan line of a run of plans for the same reason")
	addJSONFlag(cmd, g)
	return cmd
}

func kindList() string {
	var ks []string
	for _, k := range joule.AuditKinds {
		ks = append(ks, string(k))
	}
	return strings.Join(ks, ", ")
}

// followAudit asks for the events after the last one printed every followEvery, and
// prints them, until ctx ends (Ctrl-C), which is not an error.
func followAudit(ctx context.Context, c *jhttp.Client, q joule.AuditQuery, log []*joule.Audit, p *auditPrinter) error {
	q.Tail, q.Limit = false, 0
	if len(log) > 0 {
		q.After = log[len(log)-1].ID
	}
	t := time.NewTicker(followEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return p.flush()
		case <-t.C:
		}
		more, err := c.Audit(ctx, q)
		if ctx.Err() != nil {
			return p.flush()
		}
		if err != nil {
			return err
		}
		if len(more) > 0 {
			q.After = more[len(more)-1].ID
		}
		if err := p.print(more, false); err != nil {
			return err
		}
	}
}

// auditPrinter prints audit events as a table (or, with json, as JSON: one document,
// or one line per event while following), folding runs of plans made for one reason
// into their first line and a count.
type auditPrinter struct {
	out  io.Writer
	json bool
	fold bool
	run  []*joule.Audit // the run of like plans not yet printed whole
	head bool           // the table's header is printed
}

// print prints events; last says no more will come, so that a run of plans ends.
func (p *auditPrinter) print(events []*joule.Audit, last bool) error {
	if p.json {
		if last {
			return printJSON(p.out, map[string]any{"audit": events})
		}
		for _, e := range events {
			if err := printJSONLine(p.out, e); err != nil {
				return err
			}
		}
		return nil
	}
	w := tabwriter.NewWriter(p.out, 0, 4, 2, ' ', 0)
	if !p.head {
		fmt.Fprintln(w, "ID\tAT\tKIND\tACTOR\tDEVICE\tDETAIL")
		p.head = true
	}
	for _, e := range events {
		if p.fold && len(p.run) > 0 && !likePlans(p.run[0], e) {
			p.endRun(w)
		}
		if p.fold && e.Kind == joule.AuditPlan {
			if len(p.run) == 0 {
				auditLine(w, e)
			}
			p.run = append(p.run, e)
			continue
		}
		auditLine(w, e)
	}
	if last {
		p.endRun(w)
	}
	return w.Flush()
}

// flush ends the run of plans being folded.
func (p *auditPrinter) flush() error {
	if p.json {
		return nil
	}
	w := tabwriter.NewWriter(p.out, 0, 4, 2, ' ', 0)
	p.endRun(w)
	return w.Flush()
}

// endRun prints the count of the plans of the run after its first.
func (p *auditPrinter) endRun(w io.Writer) {
	if n := len(p.run); n > 1 {
		last := p.run[n-1]
		fmt.Fprintf(w, "\t\t\t\t\t… %d more plans like it, to plan %d (id %d, %s)\n", n-1, last.Seq, last.ID, last.At.Local().Format(time.DateTime))
	}
	p.run = p.run[:0]
}

// likePlans reports whether e continues the run of plans that a starts: a plan made
// for the same reason with the same outcome.
func likePlans(a, e *joule.Audit) bool {
	return e.Kind == joule.AuditPlan && e.Reason == a.Reason && e.Outcome == a.Outcome
}

func auditLine(w io.Writer, e *joule.Audit) {
	detail := e.Detail
	if e.Kind == joule.AuditChange && e.Reason != "" {
		detail = e.Reason + ": " + e.Detail
	}
	fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%s\t%s\n", e.ID, e.At.Local().Format(time.DateTime), e.Kind, e.Actor, e.Device, detail)
}
