package http

import (
	"bytes"
	"fmt"
	"html/template"
	"net/http"
	"strings"
	"time"

	"github.com/joule-site/joule"
)

// pageFuncs format money and times on printable pages.
var pageFuncs = template.FuncMap{
	// usd is MicroUSD.String, with the typographic minus of a printed page.
	"usd":  func(m joule.MicroUSD) string { return strings.Replace(m.String(), "-", "−", 1) },
	"day":  func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04") },
	"date": func(t time.Time) string { return t.UTC().Format("2006-01-02") },
}

const pageStyle = `<style>
body { font: 14px/1.4 system-ui, sans-serif; margin: 2em auto; max-width: 60em; color: #111 }
h1 { font-size: 1.4em; margin-bottom: 0 } .sub { color: #555; margin-top: .2em }
table { border-collapse: collapse; width: 100%; margin: 1em 0 } th, td { padding: .3em .5em; border-bottom: 1px solid #ddd; text-align: left }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums } tfoot td { font-weight: 600; border-top: 2px solid #111 }
@media print { body { margin: 0 } }
</style>`

var invoicePage = template.Must(template.New("invoice").Funcs(pageFuncs).Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Invoice {{.Tenant}} {{.Month}}</title>` + pageStyle + `</head><body>
<h1>Invoice — {{.Name}}</h1>
<p class="sub">Tenant {{.Tenant}} · {{.Month}} ({{date .From}} to {{date .To}}, UTC) · amounts in US dollars</p>
<table>
<thead><tr><th>Date</th><th>Kind</th><th>Lease</th><th>Description</th><th class="n">Amount</th></tr></thead>
<tbody>{{range .Lines}}<tr><td>{{day .At}}</td><td>{{.Kind}}</td><td>{{.Lease}}</td><td>{{.Memo}}</td><td class="n">{{usd .Amount}}</td></tr>
{{else}}<tr><td colspan="5">Nothing this month.</td></tr>{{end}}</tbody>
</table>
<table>
<tbody>
<tr><td>GPU time</td><td class="n">{{usd .UsageMicroUSD}}</td></tr>
<tr><td>Resold hours (net of fee)</td><td class="n">{{usd .ResaleMicroUSD}}</td></tr>
<tr><td>Credit added</td><td class="n">{{usd .DepositsMicroUSD}}</td></tr>
<tr><td>Credit paid out</td><td class="n">{{usd .PayoutsMicroUSD}}</td></tr>
<tr><td>Credit at the start of the month</td><td class="n">{{usd .OpeningCreditMicroUSD}}</td></tr>
<tr><td>Held for open orders at the end</td><td class="n">{{usd .ClosingHeldMicroUSD}}</td></tr>
</tbody>
<tfoot><tr><td>Credit at the end of the month</td><td class="n">{{usd .ClosingCreditMicroUSD}}</td></tr></tfoot>
</table>
</body></html>
`))

var statementPage = template.Must(template.New("statement").Funcs(pageFuncs).Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Statement {{.Account}} {{.Month}}</title>` + pageStyle + `</head><body>
<h1>Statement — {{.Name}}</h1>
<p class="sub">{{.Role}} {{.Account}} · {{.Month}} ({{date .From}} to {{date .To}}, UTC) · amounts in US dollars</p>
<table>
<thead><tr><th>Date</th><th>Kind</th><th>Lease</th><th>Description</th><th class="n">Gross</th><th class="n">Fee</th><th class="n">Net</th></tr></thead>
<tbody>{{range .Lines}}<tr><td>{{day .At}}</td><td>{{.Kind}}</td><td>{{.Lease}}</td><td>{{.Memo}}</td><td class="n">{{if .Gross}}{{usd .Gross}}{{end}}</td><td class="n">{{if .Fee}}{{usd .Fee}}{{end}}</td><td class="n">{{usd .Amount}}</td></tr>
{{else}}<tr><td colspan="7">Nothing this month.</td></tr>{{end}}</tbody>
</table>
<table>
<tbody>
<tr><td>Sales, gross</td><td class="n">{{usd .GrossMicroUSD}}</td></tr>
<tr><td>Platform fees</td><td class="n">{{usd .FeesMicroUSD}}</td></tr>
<tr><td>Sales, net</td><td class="n">{{usd .NetMicroUSD}}</td></tr>
<tr><td>Hosting</td><td class="n">{{usd .HostingMicroUSD}}</td></tr>
<tr><td>Energy passed through</td><td class="n">{{usd .EnergyMicroUSD}}</td></tr>
<tr><td>Paid out</td><td class="n">{{usd .PayoutsMicroUSD}}</td></tr>
{{if .PlatformFeesMicroUSD}}<tr><td>Platform fees collected (all sales)</td><td class="n">{{usd .PlatformFeesMicroUSD}}</td></tr>{{end}}
<tr><td>Balance at the start of the month</td><td class="n">{{usd .OpeningBalanceMicroUSD}}</td></tr>
</tbody>
<tfoot><tr><td>Balance at the end of the month</td><td class="n">{{usd .ClosingBalanceMicroUSD}}</td></tr></tfoot>
</table>
</body></html>
`))

// writePage renders a page to a buffer first, so that a template error is a clean 500.
func writePage(w http.ResponseWriter, r *http.Request, s *Server, t *template.Template, data any) {
	var buf bytes.Buffer
	if err := t.Execute(&buf, data); err != nil {
		writeError(w, r, s.Logger, fmt.Errorf("render %s: %w", t.Name(), err))
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(buf.Bytes())
}
