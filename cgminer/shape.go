package cgminer

import (
	"hash/fnv"
	"slices"
	"strconv"
	"strings"
)

// replyShape fingerprints the shape of a reading's replies: the names of the fields
// its version, summary, pools and stats objects carry, never their values. A firmware
// update that renames or moves a field (the drift that silently breaks parsing, and
// curtailment with it) changes the shape; a reading that only changes numbers does
// not. Objects that repeat (pools, boards) count once, so a miner with one pool more
// keeps its shape. What else a reading asks for (power, config) depends on what the
// client knows of the firmware by then, and is left out.
func replyShape(replies map[string]*Reply, stats []Object) string {
	var keys []string
	add := func(section string, objs []Object) {
		for _, o := range objs {
			for k := range o {
				keys = append(keys, section+"."+k)
			}
		}
	}
	for _, s := range []struct{ command, section string }{{"version", "VERSION"}, {"summary", "SUMMARY"}, {"pools", "POOLS"}} {
		if r := replies[s.command]; r != nil {
			add(s.section, r.Section(s.section))
		}
	}
	add("STATS", stats)
	if len(keys) == 0 {
		return ""
	}
	slices.Sort(keys)
	keys = slices.Compact(keys)
	h := fnv.New64a()
	h.Write([]byte(strings.Join(keys, "\n")))
	return strconv.FormatUint(h.Sum64(), 16)
}
