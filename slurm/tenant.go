package slurm

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/joule-site/joule"
)

// SpotQOS names the preemptable QOS for a notice of noticeSec seconds. Leases with
// the same notice share it; the firm QOS may preempt each one.
func SpotQOS(noticeSec int) string { return "joule-spot-" + strconv.Itoa(noticeSec) + "s" }

// EnsureTenant creates t's account and its users' associations with sacctmgr, and
// sets the account's QOS: the firm QOS for a firm tenant, or the spot QOS of its notice
// (PreemptMode=requeue, GraceTime=notice) for a preemptible one, which the firm QOS may
// preempt. Running it again with the same tenant changes nothing.
func (e *Engine) EnsureTenant(ctx context.Context, t joule.EngineTenant) error {
	if !validName(t.Account) {
		return joule.Errorf(joule.EINVALID, "slurm: invalid account %q (lower-case letters, digits, '-', '_', '.')", t.Account)
	}
	for _, u := range t.Users {
		if !validName(u) {
			return joule.Errorf(joule.EINVALID, "slurm: invalid user %q", u)
		}
	}
	if t.Preemptible && (t.NoticeSec <= 0 || t.NoticeSec > 24*3600) {
		return joule.Errorf(joule.EINVALID, "slurm: a preemptible tenant needs a notice between 1 s and a day, not %d s", t.NoticeSec)
	}
	qos, err := e.ensureQOS(ctx, t)
	if err != nil {
		return err
	}
	if err := e.sacctmgrAdd(ctx, "account", t.Account); err != nil {
		return fmt.Errorf("add account %s: %w", t.Account, err)
	}
	if err := e.sacctmgrModify(ctx, "account", t.Account, "QOS="+qos, "DefaultQOS="+qos); err != nil {
		return fmt.Errorf("set the QOS of account %s: %w", t.Account, err)
	}
	for _, u := range t.Users {
		if err := e.sacctmgrAdd(ctx, "user", u, "Account="+t.Account); err != nil {
			return fmt.Errorf("add user %s to account %s: %w", u, t.Account, err)
		}
	}
	return nil
}

// ensureQOS creates the firm QOS and, for a preemptible tenant, its spot QOS with the
// tenant's grace time, which the firm QOS may preempt; it returns the tenant's QOS.
func (e *Engine) ensureQOS(ctx context.Context, t joule.EngineTenant) (string, error) {
	if err := e.sacctmgrAdd(ctx, "qos", e.cfg.FirmQOS); err != nil {
		return "", fmt.Errorf("add QOS %s: %w", e.cfg.FirmQOS, err)
	}
	if !t.Preemptible {
		return e.cfg.FirmQOS, nil
	}
	spot := SpotQOS(t.NoticeSec)
	grace := "GraceTime=" + strconv.Itoa(t.NoticeSec)
	if err := e.sacctmgrAdd(ctx, "qos", spot, "PreemptMode=requeue", grace); err != nil {
		return "", fmt.Errorf("add QOS %s: %w", spot, err)
	}
	// A QOS that existed before keeps its settings on add: set them.
	if err := e.sacctmgrModify(ctx, "qos", spot, "PreemptMode=requeue", grace); err != nil {
		return "", fmt.Errorf("set QOS %s: %w", spot, err)
	}
	if err := e.sacctmgrModify(ctx, "qos", e.cfg.FirmQOS, "Preempt+="+spot); err != nil {
		return "", fmt.Errorf("let QOS %s preempt %s: %w", e.cfg.FirmQOS, spot, err)
	}
	return spot, nil
}

// sacctmgrAdd runs `sacctmgr -i add KIND NAME ARGS...`. sacctmgr exits 1 with "Nothing
// new added." when the entity is there already; that is success, unless it also says
// what it refers to does not exist.
func (e *Engine) sacctmgrAdd(ctx context.Context, kind, name string, args ...string) error {
	out, err := e.run(ctx, "sacctmgr", append([]string{"-i", "add", kind, name}, args...)...)
	if err != nil && alreadyThere(out.text(), "Nothing new added") {
		return nil
	}
	return err
}

// sacctmgrModify runs `sacctmgr -i modify KIND NAME set ARGS...`; "Nothing modified"
// (every setting already so) is success.
func (e *Engine) sacctmgrModify(ctx context.Context, kind, name string, set ...string) error {
	args := append([]string{"-i", "modify", kind, "where", "name=" + name, "set"}, set...)
	out, err := e.run(ctx, "sacctmgr", args...)
	if err != nil && alreadyThere(out.text(), "Nothing modified") {
		return nil
	}
	return err
}

// alreadyThere says whether sacctmgr's text reports nothing to do and no other fault.
func alreadyThere(text, nothing string) bool {
	return strings.Contains(text, nothing) && !strings.Contains(text, "doesn't exist")
}
