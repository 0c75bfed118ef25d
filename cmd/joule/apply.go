package main

import (
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/joule-site/joule"
	jhttp "github.com/joule-site/joule/http"
)

func newApplyCmd(g *globals) *cobra.Command {
	var file string
	cmd := &cobra.Command{
		Use:   "apply -f FILE",
		Short: "Declare sites, power caps, energy prices, fleets and GPU servers from a YAML manifest",
		Long: `apply makes the store match a YAML manifest, in one transaction: declared models and
sites are created or updated, each declared site's fleets become exactly the declared
ones, and nothing else is touched. Applying the same file twice changes nothing.
Use -f - to read the manifest from standard input.`,
		Example: "  joule apply -f examples/west-texas.yaml",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			name, data, err := readManifest(file)
			if err != nil {
				return err
			}
			return withClient(cmd.Context(), g, func(c *jhttp.Client) error {
				changes, err := c.Apply(cmd.Context(), name, data)
				if err != nil {
					return err
				}
				if g.json {
					return printJSON(os.Stdout, map[string]any{"changes": changes})
				}
				for _, ch := range changes {
					fmt.Printf("%s %s %s\n", ch.Kind, ch.Name, ch.Action)
				}
				return nil
			})
		},
	}
	cmd.Flags().StringVarP(&file, "file", "f", "", "manifest file (YAML), or - for standard input")
	_ = cmd.MarkFlagRequired("file")
	addJSONFlag(cmd, g)
	return cmd
}

func readManifest(file string) (string, []byte, error) {
	if file == "-" {
		data, err := io.ReadAll(os.Stdin)
		return "stdin", data, err
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return "", nil, joule.Errorf(joule.EINVALID, "read manifest: %v", err)
	}
	return file, data, nil
}
