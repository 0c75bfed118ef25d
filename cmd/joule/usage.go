package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/joule-site/joule"
)

// markUsageErrors makes cobra's own complaints about a command line — an unknown flag,
// a bad flag value, a missing required flag, missing or extra arguments, an unknown
// subcommand — EINVALID errors, so that they exit 1 like any other problem with the
// input. Cobra returns plain errors for these, which would otherwise read as internal
// failures. It must run after every command is added to root.
func markUsageErrors(root *cobra.Command) {
	// Cobra adds these two at Execute; adding them now lets the walk below reach them.
	root.InitDefaultHelpCmd()
	root.InitDefaultCompletionCmd()

	// Every command inherits the root's flag error function.
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
		return usageError(cmd, err.Error())
	})

	var walk func(*cobra.Command)
	walk = func(cmd *cobra.Command) {
		checkArgs(cmd)
		if cmd.HasSubCommands() && !cmd.Runnable() {
			// A group: without a Run, cobra answers any argument with its help and exit 0,
			// before it validates the arguments. Run with no subcommand, it still shows its
			// help.
			cmd.RunE = func(cmd *cobra.Command, args []string) error { return cmd.Help() }
		}
		for _, sub := range cmd.Commands() {
			walk(sub)
		}
	}
	walk(root)
}

// checkArgs replaces cmd's argument validator with one that gives EINVALID errors and
// also checks the required flags, which cobra itself checks later with plain errors.
// A command with subcommands and no validator of its own takes no arguments: its first
// one is an unknown subcommand.
func checkArgs(cmd *cobra.Command) {
	validate := cmd.Args
	if validate == nil && cmd.HasSubCommands() {
		validate = cobra.NoArgs
	}
	cmd.Args = func(cmd *cobra.Command, args []string) error {
		if validate != nil {
			if err := validate(cmd, args); err != nil {
				if cmd.HasSubCommands() && len(args) > 0 {
					// Cobra found no subcommand by this name.
					return unknownCommand(cmd, args[0])
				}
				if k, ok := acceptedPrefix(cmd, validate, args); ok {
					return usageError(cmd, fmt.Sprintf("unexpected argument %q (usage: %s)", args[k], cmd.UseLine()))
				}
				return usageError(cmd, fmt.Sprintf("%v (usage: %s)", err, cmd.UseLine()))
			}
		}
		if err := cmd.ValidateRequiredFlags(); err != nil {
			return usageError(cmd, err.Error())
		}
		if err := cmd.ValidateFlagGroups(); err != nil {
			return usageError(cmd, err.Error())
		}
		return nil
	}
}

// acceptedPrefix returns the length of the longest run of leading arguments that
// validate accepts, when there is one: the argument after it is the first one too many.
func acceptedPrefix(cmd *cobra.Command, validate cobra.PositionalArgs, args []string) (int, bool) {
	for k := len(args) - 1; k >= 0; k-- {
		if validate(cmd, args[:k]) == nil {
			return k, true
		}
	}
	return 0, false
}

// unknownCommand reports name as no subcommand of cmd, with the subcommands it is
// close to, in cobra's words.
func unknownCommand(cmd *cobra.Command, name string) error {
	var b strings.Builder
	fmt.Fprintf(&b, "unknown command %q for %q", name, cmd.CommandPath())
	if cmd.SuggestionsMinimumDistance <= 0 {
		cmd.SuggestionsMinimumDistance = 2 // cobra's default, which it sets only for itself
	}
	if suggestions := cmd.SuggestionsFor(name); len(suggestions) > 0 {
		b.WriteString("\n\nDid you mean this?\n")
		for _, s := range suggestions {
			fmt.Fprintf(&b, "\t%s\n", s)
		}
	}
	return usageError(cmd, b.String())
}

// usageError is msg, a mistake in how cmd was called, as an error in the input, with
// where to read how to call it.
func usageError(cmd *cobra.Command, msg string) error {
	msg = strings.TrimRight(msg, "\n")
	return joule.Errorf(joule.EINVALID, "%s\nRun '%s --help' for usage.", msg, cmd.CommandPath())
}
