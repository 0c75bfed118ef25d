package render

import (
	"strings"
	"unicode/utf8"
)

// A table is rows of formatted cells, rendered as text for terminals and as HTML for
// the page. The first textCols columns are words and align left; the rest are figures
// and align right.
type table struct {
	head     []string
	rows     [][]string
	textCols int
}

// text renders the table with columns separated by two spaces and each line indented;
// a table without a head prints only its rows.
func (t table) text(indent string) string {
	all := t.rows
	if t.head != nil {
		all = append([][]string{t.head}, t.rows...)
	}
	var widths []int
	for _, row := range all {
		for i, cell := range row {
			if i == len(widths) {
				widths = append(widths, 0)
			}
			widths[i] = max(widths[i], utf8.RuneCountInString(cell))
		}
	}
	var b strings.Builder
	for _, row := range all {
		var line strings.Builder
		line.WriteString(indent)
		for i, w := range widths {
			cell := ""
			if i < len(row) {
				cell = row[i]
			}
			pad := strings.Repeat(" ", w-utf8.RuneCountInString(cell))
			if i > 0 {
				line.WriteString("  ")
			}
			if i < t.textCols {
				line.WriteString(cell + pad)
			} else {
				line.WriteString(pad + cell)
			}
		}
		b.WriteString(strings.TrimRight(line.String(), " "))
		b.WriteByte('\n')
	}
	return b.String()
}

// A fact is one labelled line of a report's header: "Site  hill-ranch".
type fact struct {
	Label, Value string
}

// factsText renders facts as aligned label–value lines.
func factsText(facts []fact, indent string) string {
	t := table{textCols: 2}
	for _, f := range facts {
		t.rows = append(t.rows, []string{f.Label, f.Value})
	}
	return t.text(indent)
}

// listText renders a headed bullet list, or nothing when there are no items.
func listText(heading string, items []string) string {
	if len(items) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString(heading + "\n")
	for _, it := range items {
		b.WriteString("  - " + it + "\n")
	}
	return b.String()
}
