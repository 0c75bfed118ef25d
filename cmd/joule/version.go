package main

import (
	"fmt"
	"runtime/debug"

	"github.com/spf13/cobra"
)

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version and commit this joule was built from",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			_, err := fmt.Fprintf(cmd.OutOrStdout(), "%s %s\n", cmd.Root().Name(), cmd.Root().Version)
			return err
		},
	}
}

// buildVersion says which build of joule this is, from what the Go toolchain stamped
// into the binary: the main module's version ("(devel)" when built from a source tree
// rather than fetched by version), and, when built in a VCS checkout, the commit and
// whether the tree had uncommitted changes. go run and go test stamp no VCS information,
// so there it is the module version and the Go version alone.
func buildVersion(info *debug.BuildInfo, ok bool) string {
	if !ok {
		return "(unknown: built without module support)"
	}
	v := info.Main.Version
	if v == "" {
		v = "(devel)"
	}
	var revision, modified string
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			revision = s.Value
		case "vcs.modified":
			modified = s.Value
		}
	}
	if revision != "" {
		v += ", commit " + revision
		if modified == "true" {
			v += " (modified)"
		}
	}
	if info.GoVersion != "" {
		v += ", " + info.GoVersion
	}
	return v
}
