package html

import "html/template"

// page is the report's HTML: no scripts, no external assets; the plots are inline SVG.
var page = template.Must(template.New("report").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Orrery: {{.Scenario}} — policy comparison</title>
<style>
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 60em; padding: 0 1em; color: #222; }
h1 { font-size: 1.6em; } h2 { font-size: 1.2em; margin-top: 2em; border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; margin: .5em 0; font-variant-numeric: tabular-nums; }
th, td { border: 1px solid #ccc; padding: .25em .6em; text-align: right; }
th { background: #f4f4f4; } td:first-child, th:first-child { text-align: left; }
code { font-size: .95em; } .note { color: #555; }
svg { max-width: 100%; height: auto; display: block; margin: .5em 0; }
</style>
</head>
<body>
<h1>Orrery: {{.Scenario}} — policy comparison</h1>
<p>{{.SeedsText}} per policy; Orrery {{.Version}}. Mean with its {{.Level}} confidence
interval (Student t); Δ is each policy minus <strong>{{.Base}}</strong> on the same seeds, with
its interval and the two-sided p-value of a paired t-test. “—” marks what one run or no variance
cannot tell.</p>
<table>
<tr><th>Policy</th><th>Configuration</th></tr>
{{range .Policies}}<tr><td>{{.Name}}</td><td><code>{{.Source}}</code></td></tr>
{{end}}</table>
<p>Metrics: {{range $i, $s := .Sections}}{{if $i}}, {{end}}<a href="#{{$s.Metric}}">{{$s.Metric}}</a>{{end}}.
Then <a href="#series">over time</a>, <a href="#distributions">distributions</a>, <a href="#runs">runs</a>.</p>
<h2 id="metrics">Metrics</h2>
{{range .Sections}}<h3 id="{{.Metric}}">{{.Metric}} <span class="note">({{.Unit}}, {{.Direction}})</span></h3>
<table>
<tr><th>Policy</th><th>Runs</th><th>Mean</th><th>SD</th><th>{{$.Level}} CI</th><th>Δ vs {{$.Base}}</th><th>{{$.Level}} CI of Δ</th><th>p</th></tr>
{{range .Rows}}<tr>{{range .}}<td>{{.}}</td>{{end}}</tr>
{{end}}</table>
{{.Figure}}
{{end}}
<h2 id="series">Over time</h2>
{{range .Series}}<h3>{{.Title}}</h3>
{{.Figure}}
{{else}}<p class="note">These runs carry no time series.</p>
{{end}}
{{if .Curves}}<h2 id="curves">Curves</h2>
{{range .Curves}}<h3>{{.Title}}</h3>
{{.Figure}}
{{end}}{{end}}<h2 id="distributions">Distributions</h2>
{{range .CDFs}}<h3>{{.Title}}</h3>
{{.Figure}}
{{else}}<p class="note">These runs carry no latency samples.</p>
{{end}}
<h2 id="runs">Runs</h2>
<table>
<tr><th>Policy</th><th>Seed</th><th>Failed assertions</th><th>Event log SHA-256</th></tr>
{{range .Runs}}<tr><td>{{.Policy}}</td><td>{{.Seed}}</td><td>{{.Failed}}</td><td><code>{{.EventLog}}</code></td></tr>
{{end}}</table>
</body>
</html>
`))
