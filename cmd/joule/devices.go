package main

import (
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/joule-site/joule"
	jhttp "github.com/joule-site/joule/http"
)

// actionPollEvery is how often `joule devices action --wait` asks whether its action is done.
const actionPollEvery = time.Second

// selectionFlags name the devices a tag change or an action is for: addresses as
// arguments, or the device table's search and state filter.
type selectionFlags struct {
	search string
	state  string
}

func (f *selectionFlags) add(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.search, "search", "", `the devices the device table's search keeps (a substring; "tag:rack=A12" words filter on tags)`)
	cmd.Flags().StringVar(&f.state, "state", "", "with --search or alone: only devices in this state (running, sleeping, ramping, off, unknown)")
}

// selection is the API's selection of addrs or of the filter.
func (f *selectionFlags) selection(addrs []string) (jhttp.DeviceSelection, error) {
	filtered := f.search != "" || f.state != ""
	switch {
	case filtered && len(addrs) > 0:
		return jhttp.DeviceSelection{}, joule.Errorf(joule.EINVALID, "name devices by address or by --search/--state, not both")
	case filtered:
		return jhttp.DeviceSelection{Filter: &jhttp.DeviceFilter{Q: f.search, State: joule.DeviceState(f.state)}}, nil
	case len(addrs) == 0:
		return jhttp.DeviceSelection{}, joule.Errorf(joule.EINVALID, "name the devices: addresses (host:port), or --search/--state")
	}
	return jhttp.DeviceSelection{Addresses: addrs}, nil
}

func newDevicesCmd(g *globals) *cobra.Command {
	var (
		site  string
		q     joule.DeviceQuery
		desc  bool
		page  int
		sort  string
		state string
	)
	cmd := &cobra.Command{
		Use:   "devices --site NAME [--sort KEY] [--desc] [--search Q] [--state S] [--limit N] [--page P]",
		Short: "Show a site's device table: every device's latest reading and its tags, sorted, searched and paged by the server",
		Long: `devices prints a page of a site's device table, as the Site page shows it: each device's
state, power, hashrate against the expected, hottest board, firmware, pool and tags, from
its newest reading. --sort takes address, fleet, firmware, pool, state, temp or hashrate
(the hashrate as a share of the expected); --search keeps the devices whose address,
fleet, firmware, pool or tags contain it, and its "tag:key=value" words those with
that tag. The last line says how many devices the filters keep.`,
		Example: `  joule devices --site west-texas --sort temp --desc --limit 20
  joule devices --site west-texas --search "tag:rack=A12" --json
  joule devices tag --site west-texas 127.0.0.2:4028 rack=A12 row=3
  joule devices action sleep --site west-texas --search "tag:rack=A12" --wait`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := requireSite(site); err != nil {
				return err
			}
			q.Sort, q.Desc, q.State = joule.DeviceSort(sort), desc, joule.DeviceState(state)
			if page < 1 {
				return joule.Errorf(joule.EINVALID, "--page: from 1, not %d", page)
			}
			q.Offset = (page - 1) * max(q.Limit, 1)
			return withClient(cmd.Context(), g, func(c *jhttp.Client) error {
				p, err := c.DeviceTable(cmd.Context(), site, q)
				if err != nil {
					return err
				}
				if g.json {
					return printJSON(cmd.OutOrStdout(), p)
				}
				return writeDeviceTable(cmd.OutOrStdout(), p, q)
			})
		},
	}
	cmd.Flags().StringVar(&site, "site", "", "the site (required)")
	cmd.Flags().StringVar(&sort, "sort", "address", "the column to sort on: address, fleet, firmware, pool, state, temp, hashrate")
	cmd.Flags().BoolVar(&desc, "desc", false, "sort in descending order")
	cmd.Flags().StringVar(&q.Q, "search", "", `keep the devices whose address, fleet, firmware, pool or tags contain this; "tag:key=value" keeps those with the tag`)
	cmd.Flags().StringVar(&state, "state", "", "keep the devices in this state (running, sleeping, ramping, off, unknown)")
	cmd.Flags().IntVar(&q.Limit, "limit", 50, fmt.Sprintf("devices a page (1 to %d)", joule.MaxDevicePage))
	cmd.Flags().IntVar(&page, "page", 1, "the page, from 1")
	addJSONFlag(cmd, g)
	cmd.AddCommand(newDevicesTagCmd(g), newDevicesUntagCmd(g), newDevicesActionCmd(g), newDevicesActionsCmd(g))
	return cmd
}

func requireSite(site string) error {
	if site == "" {
		return joule.Errorf(joule.EINVALID, "--site is required")
	}
	return nil
}

// writeDeviceTable prints a page of the device table.
func writeDeviceTable(out io.Writer, p *joule.DevicePage, q joule.DeviceQuery) error {
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "ADDRESS\tFLEET\tSTATE\tPOWER\tHASHRATE\tOF EXPECTED\tTEMP\tFIRMWARE\tPOOL\tTAGS")
	for _, d := range p.Devices {
		share := "—"
		if d.ExpectedHashrateTHs > 0 {
			share = fmt.Sprintf("%.0f%%", 100*d.HashrateTHs/d.ExpectedHashrateTHs)
		}
		temp := "—"
		if d.TempC > 0 {
			temp = fmt.Sprintf("%.1f °C", d.TempC)
		}
		fw := strings.TrimSpace(d.Firmware + " " + d.FirmwareVersion)
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%.1f TH/s\t%s\t%s\t%s\t%s\t%s\n", d.Address, d.Fleet, d.State, d.PowerW, d.HashrateTHs, share, temp,
			orDash(fw), orDash(d.Pool), orDash(tagList(d.Tags)))
	}
	if err := w.Flush(); err != nil {
		return err
	}
	first := q.Offset + 1
	if len(p.Devices) == 0 {
		first = q.Offset
	}
	_, err := fmt.Fprintf(out, "%d–%d of %d devices\n", first, q.Offset+len(p.Devices), p.Total)
	return err
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

// tagList writes tags as key=value, by key.
func tagList(tags map[string]string) string {
	var kv []string
	for _, k := range slices.Sorted(maps.Keys(tags)) {
		kv = append(kv, k+"="+tags[k])
	}
	return strings.Join(kv, " ")
}

func newDevicesTagCmd(g *globals) *cobra.Command {
	var site string
	var sel selectionFlags
	cmd := &cobra.Command{
		Use:   "tag --site NAME (ADDR... | --search Q) KEY=VALUE...",
		Short: "Tag devices (rack, container, row, any key), by address or by the device table's search (operator)",
		Long: `tag sets tags on devices, live: the arguments with '=' are the tags, the others the
devices' addresses (host:port); or --search and --state choose the devices the device
table keeps now. A tag set here wins over the manifest's of the same key.`,
		Example: `  joule devices tag --site west-texas 127.0.0.2:4028 127.0.0.3:4028 rack=A12 row=3
  joule devices tag --site west-texas --search s21 container=c-7`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := requireSite(site); err != nil {
				return err
			}
			tags := map[string]string{}
			var addrs []string
			for _, a := range args {
				if k, v, ok := strings.Cut(a, "="); ok {
					tags[k] = v
				} else {
					addrs = append(addrs, a)
				}
			}
			if len(tags) == 0 {
				return joule.Errorf(joule.EINVALID, "give at least one tag as key=value")
			}
			s, err := sel.selection(addrs)
			if err != nil {
				return err
			}
			return withExchange(cmd.Context(), g, func(c *jhttp.Client) error {
				n, err := c.SetTags(cmd.Context(), site, s, tags)
				if err != nil {
					return err
				}
				if g.json {
					return printJSON(cmd.OutOrStdout(), map[string]int{"devices": n})
				}
				_, err = fmt.Fprintf(cmd.OutOrStdout(), "tagged %s %s\n", devicesN(n), tagList(tags))
				return err
			})
		},
	}
	cmd.Flags().StringVar(&site, "site", "", "the site (required)")
	sel.add(cmd)
	addJSONFlag(cmd, g)
	return cmd
}

func newDevicesUntagCmd(g *globals) *cobra.Command {
	var site string
	var keys []string
	var sel selectionFlags
	cmd := &cobra.Command{
		Use:   "untag --site NAME (ADDR... | --search Q) [--key KEY]...",
		Short: "Remove tags set live from devices: those of --key, or all (operator)",
		Long: `untag removes the tags set live (by tag) from devices: those of the keys --key names,
or every one. The manifest's tags are changed by the manifest; one of a key removed here
shows again.`,
		Example: `  joule devices untag --site west-texas 127.0.0.2:4028 --key rack`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := requireSite(site); err != nil {
				return err
			}
			s, err := sel.selection(args)
			if err != nil {
				return err
			}
			return withExchange(cmd.Context(), g, func(c *jhttp.Client) error {
				n, err := c.DeleteTags(cmd.Context(), site, s, keys)
				if err != nil {
					return err
				}
				if g.json {
					return printJSON(cmd.OutOrStdout(), map[string]int{"removed": n})
				}
				_, err = fmt.Fprintf(cmd.OutOrStdout(), "removed %d tags\n", n)
				return err
			})
		},
	}
	cmd.Flags().StringVar(&site, "site", "", "the site (required)")
	cmd.Flags().StringSliceVar(&keys, "key", nil, "the tag keys to remove (default: every tag set live)")
	sel.add(cmd)
	addJSONFlag(cmd, g)
	return cmd
}

func newDevicesActionCmd(g *globals) *cobra.Command {
	var (
		site     string
		sel      selectionFlags
		req      jhttp.ActionRequest
		limitW   int64
		wait     bool
		waitTime time.Duration
	)
	cmd := &cobra.Command{
		Use:   "action sleep|wake|power|reboot|pool --site NAME (ADDR... | --search Q) [--limit-w W] [--pool-url URL --pool-user USER] [--wait]",
		Short: "Ask a bulk action of devices, carried out by the site's agent, audited and verified (operator)",
		Long: `action asks the site's agent to sleep, wake, set a power setting on (power --limit-w),
reboot or switch the pool of (pool --pool-url) the devices named: their addresses, or
what --search and --state keep in the device table now. The agent sends each device its
command at its next step, writes it to the audit log first and verifies it by telemetry,
then reports how many it sent, verified and failed; --wait prints that result.

A sleep holds the devices asleep and a power action holds them at the setting, out of
dispatch: the plan counts them as held and runs other machines in their place, and a
held device found awake is put back to sleep. A wake ends the hold and gives them back
to dispatch, which may put them to sleep again at its next step.`,
		Example: `  joule devices action sleep --site west-texas --search "tag:rack=A12" --wait
  joule devices action power --site west-texas 127.0.0.2:4028 --limit-w 2800
  joule devices action pool --site west-texas --state running --pool-url stratum+tcp://pool.example:3333 --pool-user site.w1
  joule devices action wake --site west-texas --search "tag:rack=A12"`,
		Args:      cobra.MinimumNArgs(1),
		ValidArgs: []string{"sleep", "wake", "power", "reboot", "pool"},
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := requireSite(site); err != nil {
				return err
			}
			s, err := sel.selection(args[1:])
			if err != nil {
				return err
			}
			req.DeviceSelection, req.Action, req.LimitW = s, joule.DeviceActionKind(args[0]), joule.Watts(limitW)
			return withExchange(cmd.Context(), g, func(c *jhttp.Client) error {
				a, err := c.CreateAction(cmd.Context(), site, req)
				if err != nil {
					return err
				}
				if wait {
					if a, err = waitAction(cmd.Context(), c, site, a.ID, waitTime); err != nil {
						return err
					}
				}
				if g.json {
					return printJSON(cmd.OutOrStdout(), a)
				}
				return writeAction(cmd.OutOrStdout(), a)
			})
		},
	}
	cmd.Flags().StringVar(&site, "site", "", "the site (required)")
	cmd.Flags().Int64Var(&limitW, "limit-w", 0, "power: the setting, the most each device may draw at the wall (W)")
	cmd.Flags().StringVar(&req.PoolURL, "pool-url", "", "pool: the pool's URL (stratum+tcp://host:port)")
	cmd.Flags().StringVar(&req.PoolUser, "pool-user", "", "pool: the worker name the pool knows")
	cmd.Flags().BoolVar(&wait, "wait", false, "wait for the agent's result and print it")
	cmd.Flags().DurationVar(&waitTime, "wait-timeout", 5*time.Minute, "with --wait: how long to wait for the result")
	sel.add(cmd)
	addJSONFlag(cmd, g)
	return cmd
}

// waitAction polls an action until the agent reports it done, or d passes.
func waitAction(ctx context.Context, c *jhttp.Client, site string, id int64, d time.Duration) (*joule.DeviceAction, error) {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	t := time.NewTicker(actionPollEvery)
	defer t.Stop()
	for {
		a, err := c.Action(ctx, site, id)
		if err != nil || a.Status == joule.ActionDone {
			return a, err
		}
		select {
		case <-ctx.Done():
			return nil, joule.Errorf(joule.EUNAVAILABLE, "action %d: no result from the site's agent within %s (it stays pending; joule devices actions --site %s shows it)", id, d, site)
		case <-t.C:
		}
	}
}

// writeAction prints an action and, once done, its result.
func writeAction(out io.Writer, a *joule.DeviceAction) error {
	what := string(a.Kind)
	switch a.Kind {
	case joule.ActionKindPower:
		what += " to " + a.LimitW.String()
	case joule.ActionKindPool:
		what += " to " + a.PoolURL
	}
	if a.Status != joule.ActionDone {
		_, err := fmt.Fprintf(out, "action %d: %s of %s, pending: the site's agent carries it out at its next step\n", a.ID, what, devicesN(len(a.Addresses)))
		return err
	}
	if _, err := fmt.Fprintf(out, "action %d: %s of %s: %d sent, %d verified, %d failed\n", a.ID, what, devicesN(len(a.Addresses)), a.Sent, a.Verified, a.Failed); err != nil {
		return err
	}
	for _, f := range a.Failures {
		if _, err := fmt.Fprintf(out, "  %s: %s\n", f.Address, f.Error); err != nil {
			return err
		}
	}
	return nil
}

// devicesN is "1 device" or "N devices".
func devicesN(n int) string {
	if n == 1 {
		return "1 device"
	}
	return strconv.Itoa(n) + " devices"
}

func newDevicesActionsCmd(g *globals) *cobra.Command {
	var site string
	var limit int
	cmd := &cobra.Command{
		Use:   "actions --site NAME [--limit N]",
		Short: "List a site's bulk actions, newest first, with their results",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := requireSite(site); err != nil {
				return err
			}
			return withClient(cmd.Context(), g, func(c *jhttp.Client) error {
				list, err := c.Actions(cmd.Context(), site, limit)
				if err != nil {
					return err
				}
				if g.json {
					return printJSON(cmd.OutOrStdout(), map[string]any{"actions": list})
				}
				w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
				fmt.Fprintln(w, "ID\tACTION\tBY\tASKED\tSTATUS\tSENT\tVERIFIED\tFAILED")
				for _, a := range list {
					fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", a.ID, a.Kind, a.By, a.CreatedAt.Format(time.DateTime), a.Status,
						count(a, a.Sent), count(a, a.Verified), count(a, a.Failed))
				}
				return w.Flush()
			})
		},
	}
	cmd.Flags().StringVar(&site, "site", "", "the site (required)")
	cmd.Flags().IntVar(&limit, "limit", 20, "the newest N actions")
	addJSONFlag(cmd, g)
	return cmd
}

// count is a result's count, or "—" while the action is pending.
func count(a *joule.DeviceAction, n int) string {
	if a.Status != joule.ActionDone {
		return "—"
	}
	return strconv.Itoa(n)
}
