package main

import (
	"context"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/joule-site/joule"
	"github.com/joule-site/joule/delivery"
	jhttp "github.com/joule-site/joule/http"
	"github.com/joule-site/joule/slurm"
)

// engineFlags configure the workload engine `joule serve` drives, if any: with none
// (the default) leases are bound to servers but nothing reserves them, and `make run`
// needs no Slurm.
type engineFlags struct {
	kind      string
	conf      string
	bin       string
	partition string
	login     string
	users     []string
	every     time.Duration
}

func (f *engineFlags) add(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.kind, "engine", "", `workload engine that runs tenants' jobs on leased servers: "slurm", or none`)
	fl.StringVar(&f.conf, "slurm-conf", "", "slurm.conf of the cluster whose nodes are the GPU servers (default: Slurm's own, /etc/slurm/slurm.conf)")
	fl.StringVar(&f.bin, "slurm-bin", "", "directory of scontrol, sacctmgr and sacct (default: PATH)")
	fl.StringVar(&f.partition, "slurm-partition", "", "partition tenants submit to, shown by 'joule lease access'")
	fl.StringVar(&f.login, "slurm-login-host", "", "login host tenants submit from, shown by 'joule lease access'")
	fl.StringSliceVar(&f.users, "slurm-user", nil, "TENANT=LOGIN[:LOGIN...]: login names whose jobs run under the tenant's leases (repeat; default: the tenant's account ID, an assumption)")
	fl.DurationVar(&f.every, "engine-reconcile", 15*time.Second, "how often the leader makes the engine's reservations match the leases (an assumption: Slurm takes each change in tens of milliseconds)")
}

// users parses --slurm-user.
func (f *engineFlags) tenantUsers() (map[string][]string, error) {
	out := map[string][]string{}
	for _, u := range f.users {
		tenant, logins, ok := strings.Cut(u, "=")
		if !ok || tenant == "" || logins == "" {
			return nil, joule.Errorf(joule.EINVALID, "--slurm-user %q: want TENANT=LOGIN[:LOGIN...]", u)
		}
		out[tenant] = append(out[tenant], strings.Split(logins, ":")...)
	}
	return out, nil
}

// openEngine wires the workload engine, when one is named: the reconciler runs while
// this replica leads, and the lease access and usage routes answer from it.
func (m *Main) openEngine() error {
	f := m.Engine
	switch f.kind {
	case "":
		return nil
	case "slurm":
	default:
		return joule.Errorf(joule.EINVALID, "--engine %q: the engines are slurm, or none", f.kind)
	}
	users, err := f.tenantUsers()
	if err != nil {
		return err
	}
	eng, err := slurm.New(slurm.Config{Conf: f.conf, BinDir: f.bin})
	if err != nil {
		return err
	}
	a := m.app
	rec := delivery.New(delivery.Config{Engine: eng, Leases: a.exchange, Now: a.now, Users: func(t string) []string { return users[t] },
		Partition: f.partition, LoginHost: f.login, Logger: m.Log})
	a.server.Delivery = &delivery.Service{Reconciler: rec, Leases: a.exchange}
	every := f.every
	if every <= 0 {
		every = 15 * time.Second
	}
	m.addLeader("workload engine", func(ctx context.Context) error {
		rec.Run(ctx, every)
		return nil
	})
	return nil
}

func newLeaseAccessCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "access LEASE-ID",
		Short: "Print exactly how to submit jobs to a lease's servers: account, reservation, partition, nodes, login host",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withExchange(cmd.Context(), g, func(c *jhttp.Client) error {
				a, err := c.LeaseAccess(cmd.Context(), args[0])
				if err != nil {
					return err
				}
				if g.json {
					return printJSON(cmd.OutOrStdout(), a)
				}
				w := cmd.OutOrStdout()
				fmt.Fprintf(w, "lease %s\naccount      %s\nusers        %s\n", a.Lease, a.Account, strings.Join(a.Users, ", "))
				if a.Partition != "" {
					fmt.Fprintf(w, "partition    %s\n", a.Partition)
				}
				if a.LoginHost != "" {
					fmt.Fprintf(w, "login host   %s\n", a.LoginHost)
				}
				if len(a.Reservations) == 0 {
					fmt.Fprintln(w, "no reservation: the lease holds no servers from now on")
					return nil
				}
				for _, r := range a.Reservations {
					fmt.Fprintf(w, "reservation  %s  nodes %s  %s to %s\n", r.Name, strings.Join(r.Nodes, ","),
						r.Start.UTC().Format(time.RFC3339), r.End.UTC().Format(time.RFC3339))
				}
				fmt.Fprintf(w, "submit       %s\n", a.Submit)
				return nil
			})
		},
	}
	addJSONFlag(cmd, g)
	return cmd
}

func newLeaseUsageCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "usage LEASE-ID",
		Short: "GPU-seconds a lease's jobs used, from the engine's accounting (sacct), beside those billed",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withExchange(cmd.Context(), g, func(c *jhttp.Client) error {
				u, err := c.LeaseUsage(cmd.Context(), args[0])
				if err != nil {
					return err
				}
				if g.json {
					return printJSON(cmd.OutOrStdout(), u)
				}
				w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
				fmt.Fprintf(w, "lease %s: billed %d GPU-seconds, used %d GPU-seconds (sacct)", u.Lease, u.BilledGPUSeconds, u.UsedGPUSeconds)
				if u.ReservedGPUSeconds != nil {
					fmt.Fprintf(w, ", reserved %d GPU-seconds (Slurm's accounting)", *u.ReservedGPUSeconds)
				}
				fmt.Fprintln(w)
				if len(u.Jobs) > 0 {
					fmt.Fprintln(w, "JOB\tSTATE\tRESERVATION\tGPUS\tSECONDS\tGPU-SECONDS")
					for _, j := range u.Jobs {
						fmt.Fprintf(w, "%s\t%s\t%s\t%d\t%d\t%d\n", j.JobID, j.State, j.Reservation, j.GPUs, j.ElapsedSec, j.GPUSeconds())
					}
				}
				return w.Flush()
			})
		},
	}
	addJSONFlag(cmd, g)
	return cmd
}
