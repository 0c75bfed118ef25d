package main_test

import (
	"strings"
	"testing"
)

// A mistake in the command line is an error in the input: exit 1, naming the flag,
// argument or command that is wrong, never cobra's help with exit 0.
func TestUsageErrors(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"unknown flag", []string{"econ", "--date", "2024-12-23", "--bogus"}, []string{"unknown flag: --bogus", "joule econ --help"}},
		{"unknown shorthand flag", []string{"sites", "-q"}, []string{"unknown shorthand flag: 'q'"}},
		{"unknown flag on a group", []string{"order", "--bogus"}, []string{"unknown flag: --bogus"}},
		{"missing required flag", []string{"compare", "--mw", "10"}, []string{`required flag(s)`, `"asic"`}},
		{"missing required flags", []string{"dr", "ls"}, []string{`required flag(s) "site" not set`}},
		{"missing flag value", []string{"econ", "--date"}, []string{"flag needs an argument: --date"}},
		{"bad duration", []string{"dr", "--site", "a", "--reduce-to-mw", "1", "--within", "3x"}, []string{`invalid argument "3x" for "--within" flag`}},
		{"bad number", []string{"compare", "--mw", "ten"}, []string{`invalid argument "ten" for "--mw" flag`}},
		{"missing argument", []string{"order", "cancel"}, []string{"accepts 1 arg(s), received 0", "ORDER-ID"}},
		{"extra argument", []string{"order", "cancel", "o-1", "o-2"}, []string{`unexpected argument "o-2"`, "ORDER-ID"}},
		{"argument to a command that takes none", []string{"econ", "today", "--date", "2024-12-23"}, []string{`unexpected argument "today"`}},
		{"argument to version", []string{"version", "now"}, []string{`unexpected argument "now"`}},
		{"unknown command", []string{"mine-harder"}, []string{`unknown command "mine-harder" for "joule"`}},
		{"misspelt command", []string{"sitse"}, []string{`unknown command "sitse" for "joule"`, "Did you mean this?\n\tsites"}},
		{"unknown subcommand", []string{"order", "creat"}, []string{`unknown command "creat" for "joule order"`, "Did you mean this?\n\tcreate"}},
		{"unknown subcommand with no suggestion", []string{"lease", "zzz"}, []string{`unknown command "zzz" for "joule lease"`}},
		{"unknown subcommand of a runnable command", []string{"dr", "lss", "--site", "a"}, []string{`unknown command "lss" for "joule dr"`, "\tls"}},
		{"unknown subcommand of cobra's completion", []string{"completion", "fsh"}, []string{`unknown command "fsh" for "joule completion"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := run(t, dir, tt.args...)
			if r.code != 1 {
				t.Errorf("exit %d, want 1; stdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
			}
			for _, want := range tt.want {
				if !strings.Contains(r.stderr, want) {
					t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
				}
			}
			if strings.Contains(r.stdout, "Usage:") {
				t.Errorf("printed the help for a mistake:\n%s", r.stdout)
			}
		})
	}
}

// A group or the root run alone, or asked for help, shows its help and succeeds.
func TestHelpExitsZero(t *testing.T) {
	dir := t.TempDir()
	for _, args := range [][]string{{}, {"order"}, {"lease"}, {"order", "--help"}, {"help", "order"}, {"econ", "--help"}} {
		t.Run(strings.Join(append([]string{"joule"}, args...), " "), func(t *testing.T) {
			r := run(t, dir, args...)
			if r.code != 0 || !strings.Contains(r.stdout, "Usage:") {
				t.Errorf("exit %d, stdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
			}
		})
	}
}

func TestVersion(t *testing.T) {
	dir := t.TempDir()
	cmd := run(t, dir, "version")
	flag := run(t, dir, "--version")
	for _, r := range []result{cmd, flag} {
		if r.code != 0 || !strings.HasPrefix(r.stdout, "joule ") || strings.Count(r.stdout, "\n") != 1 {
			t.Errorf("exit %d, want one line starting with \"joule \"; stdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
		}
	}
	if cmd.stdout != flag.stdout {
		t.Errorf("joule version printed %q, joule --version %q", cmd.stdout, flag.stdout)
	}
}
