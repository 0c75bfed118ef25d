package main_test

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"

	"github.com/joule-site/joule/syncbuf"
)

// The README's command blocks are its users' first hour, so they run here as written,
// in order, on one scratch store in a directory that has the repository's examples:
//
//   - a line of a block whose first command is `joule …` or `make …` is a command; a
//     trailing `\` continues it, and `#` after a space starts a comment;
//   - `make TARGET` is not run (it is this test's own runner), but TARGET must be one of
//     the Makefile's;
//   - every `joule …` must exit 0, except `joule serve`, `joule sim` and `joule agent`,
//     which run in the background from the moment they say they are ready until the end
//     of their block, and must then stop cleanly when interrupted;
//   - in a block, 127.0.0.1:8080 is a free loopback port, TOKEN the last API token an
//     earlier command printed and TOKEN-ID the last token ID;
//   - a block that follows a paragraph ending "`joule …` prints:" is that command's
//     output: each of its lines must be the program's, up to a line "…" or "...".
//
// Changing the README's commands or example output without changing the program, or the
// program without the README, fails here.
func TestReadmeCommands(t *testing.T) {
	if testing.Short() {
		t.Skip("runs every README command")
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	makefile, err := os.ReadFile("../../Makefile")
	if err != nil {
		t.Fatal(err)
	}
	examples, err := filepath.Abs("../../examples")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.Symlink(examples, filepath.Join(dir, "examples")); err != nil {
		t.Fatal(err)
	}
	blocks := readmeBlocks(string(readme))
	if len(blocks) < 4 {
		t.Fatalf("found %d code blocks in the README; the parser is broken", len(blocks))
	}
	ran := 0
	for _, b := range blocks {
		switch {
		case b.output != "":
			checkOutput(t, dir, b)
			ran++
		case len(b.commands) > 0:
			runBlock(t, dir, b, makefile)
			ran += len(b.commands)
		}
	}
	t.Logf("ran %d README commands and outputs", ran)
	if ran < 20 {
		t.Errorf("ran %d README commands and outputs; want every block's", ran)
	}
}

// readmeBlock is one fenced code block: its commands, or the command whose output it
// shows.
type readmeBlock struct {
	line     int      // of its opening fence, for messages
	commands []string // joined lines, comments cut
	output   string   // the command this block is the output of
	text     []string // its lines
}

var printsRE = regexp.MustCompile("`(joule [^`]+)` prints:\\s*$")

// readmeBlocks splits markdown into its fenced blocks.
func readmeBlocks(md string) []readmeBlock {
	var blocks []readmeBlock
	var cur *readmeBlock
	var prose []string
	for i, line := range strings.Split(md, "\n") {
		switch {
		case strings.HasPrefix(line, "```") && cur == nil:
			cur = &readmeBlock{line: i + 1}
			for j := len(prose) - 1; j >= 0 && j >= len(prose)-3; j-- {
				if m := printsRE.FindStringSubmatch(prose[j]); m != nil {
					cur.output = m[1]
					break
				}
			}
		case strings.HasPrefix(line, "```"):
			cur.commands = commandsOf(cur.text)
			blocks = append(blocks, *cur)
			cur, prose = nil, nil
		case cur != nil:
			cur.text = append(cur.text, line)
		default:
			if strings.TrimSpace(line) != "" {
				prose = append(prose, line)
			}
		}
	}
	return blocks
}

// commandsOf returns a block's commands, or none when its first line is not one.
func commandsOf(lines []string) []string {
	if len(lines) == 0 || !(strings.HasPrefix(lines[0], "joule ") || strings.HasPrefix(lines[0], "make ")) {
		return nil
	}
	var out []string
	var cur string
	for _, l := range lines {
		l = cutComment(l)
		if strings.HasSuffix(l, `\`) {
			cur += strings.TrimSuffix(l, `\`) + " "
			continue
		}
		if cmd := strings.TrimSpace(cur + l); cmd != "" {
			out = append(out, cmd)
		}
		cur = ""
	}
	return out
}

// cutComment drops a `#` comment that follows a space outside quotes.
func cutComment(l string) string {
	quote := rune(0)
	for i, r := range l {
		switch {
		case quote != 0 && r == quote:
			quote = 0
		case quote == 0 && (r == '\'' || r == '"'):
			quote = r
		case quote == 0 && r == '#' && (i == 0 || l[i-1] == ' '):
			return strings.TrimRight(l[:i], " ")
		}
	}
	return strings.TrimRight(l, " ")
}

// words splits a command as a shell would for the quoting the README uses.
func words(cmd string) []string {
	var out []string
	var cur strings.Builder
	quote, in := rune(0), false
	for _, r := range cmd {
		switch {
		case quote != 0 && r == quote:
			quote = 0
		case quote != 0:
			cur.WriteRune(r)
		case r == '\'' || r == '"':
			quote, in = r, true
		case r == ' ' || r == '\t':
			if in {
				out = append(out, cur.String())
				cur.Reset()
				in = false
			}
		default:
			cur.WriteRune(r)
			in = true
		}
	}
	if in {
		out = append(out, cur.String())
	}
	return out
}

// background is a long-running command a block started.
type background struct {
	cmd  string
	proc *exec.Cmd
	out  *syncbuf.Buffer
	done chan error
}

// readiness is what each long-running command prints once it is ready.
var readiness = map[string]string{
	"serve": "Joule is serving on",
	"sim":   "simulating ",
	"agent": "agent for ",
}

var (
	tokenRE   = regexp.MustCompile(`\bjl_[A-Za-z0-9_-]{20,}`)
	tokenIDRE = regexp.MustCompile(`\btok_[0-9a-f]{16}\b`)
)

// runBlock runs a block's commands in order.
func runBlock(t *testing.T, dir string, b readmeBlock, makefile []byte) {
	t.Helper()
	port := freePort(t)
	token, tokenID := "", ""
	var bg []*background
	defer func() {
		for i := len(bg) - 1; i >= 0; i-- {
			stopBackground(t, bg[i])
		}
	}()
	for _, cmd := range b.commands {
		args := words(strings.ReplaceAll(cmd, "127.0.0.1:8080", port))
		if args[0] == "make" {
			for _, target := range args[1:] {
				if !regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(target) + `:`).Match(makefile) {
					t.Errorf("README:%d: make %s: the Makefile has no such target", b.line, target)
				}
			}
			continue
		}
		if args[0] != "joule" {
			t.Errorf("README:%d: %q is neither a joule nor a make command", b.line, cmd)
			continue
		}
		for i, a := range args {
			for name, v := range map[string]string{"TOKEN": token, "TOKEN-ID": tokenID} {
				if a != name {
					continue
				}
				if v == "" {
					t.Fatalf("README:%d: %q uses %s before a command printed one", b.line, cmd, name)
				}
				args[i] = v
			}
		}
		if ready, ok := readiness[args[1]]; ok {
			bg = append(bg, startBackground(t, dir, b, cmd, args[1:], ready))
			continue
		}
		r := run(t, dir, args[1:]...)
		if r.code != 0 {
			t.Errorf("README:%d: %s: exit %d\nstdout:\n%s\nstderr:\n%s", b.line, cmd, r.code, r.stdout, r.stderr)
			continue
		}
		if m := tokenRE.FindAllString(r.stdout, -1); len(m) > 0 {
			token = m[len(m)-1]
		}
		if m := tokenIDRE.FindAllString(r.stdout+r.stderr, -1); len(m) > 0 {
			tokenID = m[len(m)-1]
		}
	}
}

// startBackground starts a long-running command and waits until it says it is ready,
// or fails the test if it exits first.
func startBackground(t *testing.T, dir string, b readmeBlock, line string, args []string, ready string) *background {
	t.Helper()
	cmd := exec.Command(joule, args...)
	cmd.Dir = dir
	// XDG_STATE_HOME: the agent keeps its audit spool in the scratch directory too.
	cmd.Env = append(os.Environ(), "JOULE_DB="+filepath.Join(dir, "joule.db"), "JOULE_SERVER=", "XDG_STATE_HOME="+dir)
	out := &syncbuf.Buffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &background{cmd: line, proc: cmd, out: out, done: make(chan error, 1)}
	go func() { p.done <- cmd.Wait() }()
	for {
		changed := out.Changed() // before reading, so that no write is missed
		if strings.Contains(out.String(), ready) {
			break
		}
		select {
		case err := <-p.done:
			t.Fatalf("README:%d: %s exited before it was ready (%v):\n%s", b.line, line, err, out.String())
		case <-changed:
		}
	}
	return p
}

// stopBackground interrupts a long-running command and checks that it stops cleanly.
func stopBackground(t *testing.T, p *background) {
	t.Helper()
	select {
	case err := <-p.done:
		t.Errorf("%s stopped before the end of its block (%v):\n%s", p.cmd, err, p.out.String())
		return
	default:
	}
	_ = p.proc.Process.Signal(syscall.SIGINT)
	if err := <-p.done; err != nil {
		t.Errorf("%s, interrupted: %v\n%s", p.cmd, err, p.out.String())
	}
}

// checkOutput runs the command a block shows the output of and compares them.
func checkOutput(t *testing.T, dir string, b readmeBlock) {
	t.Helper()
	r := run(t, dir, words(b.output)[1:]...)
	if r.code != 0 {
		t.Fatalf("README:%d: %s: exit %d: %s", b.line, b.output, r.code, r.stderr)
	}
	got := strings.Split(strings.TrimRight(r.stdout, "\n"), "\n")
	for i, want := range b.text {
		if w := strings.TrimSpace(want); w == "..." || w == "…" {
			return
		}
		if i >= len(got) {
			t.Errorf("README:%d: %s prints %d lines; the README shows more:\n%s", b.line, b.output, len(got), want)
			return
		}
		if strings.TrimRight(got[i], " ") != strings.TrimRight(want, " ") {
			t.Errorf("README:%d: line %d of %s differs:\nREADME:  %q\nprogram: %q", b.line+1+i, i+1, b.output, want, got[i])
		}
	}
	if len(got) != len(b.text) {
		t.Errorf("README:%d: %s prints %d lines, the README shows %d (end it with ... to show a part)", b.line, b.output, len(got), len(b.text))
	}
}

// freePort returns a loopback address nothing listens on.
func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// TestReadmeParser checks the parser on a README of its own: it must not pass by
// finding nothing.
func TestReadmeParser(t *testing.T) {
	md := "Intro\n\n```\njoule econ   # a comment\njoule compare --mw 10 \\\n  --asic s21\nmake test\n```\n\n`joule econ --date 2024-12-23` prints:\n\n```\nDay  2024-12-23\n...\n```\n"
	blocks := readmeBlocks(md)
	if len(blocks) != 2 {
		t.Fatalf("%d blocks: %+v", len(blocks), blocks)
	}
	if got, want := fmt.Sprint(blocks[0].commands), "[joule econ joule compare --mw 10    --asic s21 make test]"; got != want {
		t.Errorf("commands %s, want %s", got, want)
	}
	if blocks[1].output != "joule econ --date 2024-12-23" || len(blocks[1].commands) != 0 {
		t.Errorf("output block %+v", blocks[1])
	}
	if w := words(`joule x --a "b c" 'd'`); fmt.Sprint(w) != "[joule x --a b c d]" || len(w) != 5 {
		t.Errorf("words %q", w)
	}
}
