package main

import (
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/joule-site/joule"
	"github.com/joule-site/joule/meter"
)

// meterStatus is what `joule meter status --json` prints.
type meterStatus struct {
	Meter  string      `json:"meter"` // the meter's URL, with its defaults filled in
	PowerW joule.Watts `json:"power_w"`
	At     time.Time   `json:"at"` // when the reading came back
}

func newMeterCmd(g *globals) *cobra.Command {
	mc := &cobra.Command{Use: "meter", Short: "Talk to a site power meter over Modbus TCP (port 502)"}
	var timeout time.Duration
	status := &cobra.Command{
		Use:   "status URL",
		Short: "Read a site meter's total active power once",
		Long: `status reads the total active power of a site meter, the power measured at the
site's feed rather than what devices report of themselves. The URL says where the
meter is and how it keeps the reading; every query key is optional:

  modbus://host[:port]?unit=1&register=0&table=input|holding&type=float32&scale=1&words=high-first|low-first

port 502 by default; unit is the Modbus unit id; register the first register of the
reading; type one of float32, int32, uint32, int16, uint16; scale the watts per unit
read (1000 for a meter that reports kW); words the order of a 32-bit value's two
registers.`,
		Example: "  joule meter status 'modbus://10.0.0.5?register=0'\n" +
			"  joule meter status 'modbus://10.0.0.5:502?unit=3&register=3059&table=holding&scale=1000' --json",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := meter.ParseURL(args[0])
			if err != nil {
				return err
			}
			cfg.Timeout = timeout
			m, err := meter.Open(cfg)
			if err != nil {
				return err
			}
			defer m.Close()
			w, err := m.PowerW(cmd.Context())
			if err != nil {
				return joule.Errorf(joule.EINVALID, "%v", err)
			}
			st := meterStatus{Meter: m.String(), PowerW: w, At: time.Now().UTC()}
			if g.json {
				return printJSON(cmd.OutOrStdout(), st)
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintf(tw, "Meter\t%s\nPower\t%s (%d W)\nAt\t%s\n", st.Meter, st.PowerW, int64(st.PowerW), st.At.Format(time.RFC3339))
			return tw.Flush()
		},
	}
	status.Flags().DurationVar(&timeout, "timeout", meter.DefaultTimeout, "how long to wait for the meter")
	addJSONFlag(status, g)
	mc.AddCommand(status)
	return mc
}
