package render

import (
	"bufio"
	"html/template"

	"github.com/joule-site/joule/backtest"
)

// A page is a self-contained HTML report: facts, sections and figures, no external
// CSS or JavaScript. Charts are <img> of the PNG files written beside it.
type page struct {
	Title    string
	Facts    []fact
	Sections []section
}

// A section is a heading over any of: facts, a table, a bullet list, a figure.
type section struct {
	Heading string
	Facts   []fact
	Table   *htmlTable
	Items   []string
	Figure  *figure
}

type htmlTable struct {
	Head     []string
	Rows     [][]string
	TextCols int
}

type figure struct {
	Src, Caption string
}

func (t table) html() *htmlTable {
	return &htmlTable{Head: t.head, Rows: t.rows, TextCols: t.textCols}
}

var pageTemplate = template.Must(template.New("page").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title>
<style>
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #222; background: #fff; max-width: 1100px; margin: 2rem auto; padding: 0 1rem; line-height: 1.45; }
h1 { font-size: 1.6rem; margin-bottom: 0.5rem; }
h2 { font-size: 1.2rem; margin-top: 2rem; border-bottom: 1px solid #ddd; padding-bottom: 0.2rem; }
dl { display: grid; grid-template-columns: max-content auto; gap: 0.2rem 1.2rem; margin: 0.5rem 0; }
dt { color: #555; }
dd { margin: 0; }
table { border-collapse: collapse; margin: 0.5rem 0; font-variant-numeric: tabular-nums; }
th, td { padding: 0.3rem 0.8rem; border-bottom: 1px solid #e5e5e5; }
th { background: #f5f5f5; text-align: right; }
td { text-align: right; }
th.text, td.text { text-align: left; }
tbody tr:hover { background: #fafafa; }
figure { margin: 1rem 0; }
img { max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption { color: #555; font-size: 0.9rem; }
</style>
</head>
<body>
<h1>{{.Title}}</h1>
{{template "facts" .Facts}}
{{- range .Sections}}
<section>
<h2>{{.Heading}}</h2>
{{- template "facts" .Facts}}
{{- with .Table}}
<table>
<thead><tr>{{$n := .TextCols}}{{range $i, $h := .Head}}<th{{if lt $i $n}} class="text"{{end}}>{{$h}}</th>{{end}}</tr></thead>
<tbody>
{{- range .Rows}}
<tr>{{range $i, $c := .}}<td{{if lt $i $n}} class="text"{{end}}>{{$c}}</td>{{end}}</tr>
{{- end}}
</tbody>
</table>
{{- end}}
{{- with .Items}}
<ul>
{{- range .}}
<li>{{.}}</li>
{{- end}}
</ul>
{{- end}}
{{- with .Figure}}
<figure>
<img src="{{.Src}}">
<figcaption>{{.Caption}}</figcaption>
</figure>
{{- end}}
</section>
{{- end}}
</body>
</html>
{{define "facts"}}{{if .}}
<dl>
{{- range .}}
<dt>{{.Label}}</dt><dd>{{.Value}}</dd>
{{- end}}
</dl>
{{- end}}{{end}}`))

func writePage(path string, pg page) error {
	return writeFile(path, func(w *bufio.Writer) error { return pageTemplate.Execute(w, pg) })
}

// backtestPage lays out a backtest: header, strategies, charts, then the notes.
func backtestPage(r *backtest.Report, powerCaption string) page {
	pg := page{Title: backtestTitle(r), Facts: backtestFacts(r)}
	pg.Sections = append(pg.Sections, section{Heading: "Strategies", Table: strategyTable(r).html()})
	if d := strategyDescriptions(r); len(d) > 0 {
		pg.Sections = append(pg.Sections, section{Heading: "What each strategy does", Items: d})
	}
	pg.Sections = append(pg.Sections,
		section{Heading: "Power by use", Figure: &figure{Src: "power.png", Caption: powerCaption}},
		section{Heading: "Cumulative margin", Figure: &figure{Src: "margin.png",
			Caption: "Revenue less energy cost, summed from the start of the period. Top: the mining strategies, each less always-mine's " +
				"(always-mine is the zero line). Below, on its own scale: the conversions to GPU servers beside always-mine, before the servers' capex."}},
	)
	if a := assumptionLines(r.Assumptions); len(a) > 0 {
		pg.Sections = append(pg.Sections, section{Heading: "Assumptions", Items: a})
	}
	if len(r.Notes) > 0 {
		pg.Sections = append(pg.Sections, section{Heading: "Notes", Items: r.Notes})
	}
	return pg
}

// planPage lays out a plan: header, outcomes, charts, yearly table, assumptions, notes.
func planPage(p *backtest.PivotReport) page {
	pg := page{Title: planTitle(p), Facts: append([]fact{{"Headline", planHeadline(p)}}, planFacts(p)...)}
	pg.Sections = append(pg.Sections,
		section{Heading: "Outcomes", Facts: planOdds(p), Table: outcomeTable(p).html()},
		section{Heading: "NPV distribution", Figure: &figure{Src: "npv.png",
			Caption: "Net present value of converting rather than not, capex included, one count per Monte Carlo path; P10, P50 and P90 marked."}},
	)
	if len(p.YearlyCashFlowUSD) > 0 {
		pg.Sections = append(pg.Sections, section{Heading: "Yearly cash flow", Table: cashFlowTable(p).html(),
			Figure: &figure{Src: "cashflow.png",
				Caption: "Incremental cash flow of converting (GPU margin less the margin of the miners it replaced), undiscounted: bar at P50, whisker from P10 to P90."}})
	}
	if len(p.Assumptions) > 0 {
		pg.Sections = append(pg.Sections, section{Heading: "Assumptions", Items: p.Assumptions})
	}
	if len(p.Inputs) > 0 {
		pg.Sections = append(pg.Sections, section{Heading: "Inputs and their sources", Items: inputLines(p)})
	}
	if len(p.Notes) > 0 {
		pg.Sections = append(pg.Sections, section{Heading: "Notes", Items: p.Notes})
	}
	return pg
}
