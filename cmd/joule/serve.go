package main

import (
	"fmt"
	"log/slog"
	"os"

	"github.com/spf13/cobra"
)

func newServeCmd(g *globals) *cobra.Command {
	var (
		addr  string
		debug bool
	)
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve the API on the store",
		Long: `serve runs the HTTP API (/api/v1/…, /healthz) on the store named by --db, logs
as structured JSON on standard error, and shuts down gracefully on SIGINT or SIGTERM.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			level := slog.LevelInfo
			if debug {
				level = slog.LevelDebug
			}
			log := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
			a, err := openApp(g.db, log)
			if err != nil {
				return err
			}
			defer a.Close()
			a.server.Addr = addr
			if err := a.server.Open(); err != nil {
				return err
			}
			log.Info("serving", "url", a.server.URL(), "db", g.db)
			fmt.Fprintf(os.Stdout, "Joule is serving on %s (store %s). Stop with Ctrl-C.\n", a.server.URL(), g.db)
			<-cmd.Context().Done()
			log.Info("shutting down")
			return a.server.Close()
		},
	}
	cmd.Flags().StringVar(&addr, "addr", "127.0.0.1:8080", "address to listen on")
	cmd.Flags().BoolVar(&debug, "debug", false, "log every request")
	return cmd
}
