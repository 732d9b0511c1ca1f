package server

import (
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"strings"
)

// list describes the runs, or answers 500 and says why in the log.
func (s *Server) list(w http.ResponseWriter) ([]RunInfo, bool) {
	runs, err := s.runs.list()
	if err != nil {
		http.Error(w, "cannot list the runs", http.StatusInternalServerError)
		s.log.Printf("listing %s: %v", s.cfg.Dir, err)
	}
	return runs, err == nil
}

// serveList answers GET /runs: the run files as JSON.
func (s *Server) serveList(w http.ResponseWriter, r *http.Request) {
	runs, ok := s.list(w)
	if !ok {
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(runs)
}

// pageRow is one run on the page.
type pageRow struct {
	RunInfo
	HeadText, State, Command string
}

var page = template.Must(template.New("page").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>mlpviz runs</title>
<style>body{font-family:sans-serif;margin:2em}td,th{padding:.3em 1em;text-align:left}code{background:#eee;padding:.1em .3em}</style>
</head><body>
<h1>mlpviz runs</h1>
{{if .Token}}<p>This server wants its token: put it in <code>MLPVIZ_TOKEN</code> before each command, or add <code>?token=…</code> to the URL.</p>{{end}}
{{if .Rows}}<table>
<tr><th>run</th><th>passes</th><th>head</th><th>size</th><th>state</th><th>watch it with</th></tr>
{{range .Rows}}<tr><td>{{.Name}}</td><td>{{.Passes}}</td><td>{{.HeadText}}</td><td>{{.Size}} bytes</td><td>{{.State}}</td><td><code>{{.Command}}</code></td></tr>
{{end}}</table>{{else}}<p>No run files yet.</p>{{end}}
<p>The same list as JSON: <a href="/runs">/runs</a>.</p>
</body></html>
`))

// servePage answers GET /: the runs with the command to watch each.
func (s *Server) servePage(w http.ResponseWriter, r *http.Request) {
	runs, ok := s.list(w)
	if !ok {
		return
	}
	rows := make([]pageRow, len(runs))
	for i, run := range runs {
		var head []string
		for _, n := range run.Head {
			head = append(head, fmt.Sprint(n))
		}
		state := "finished"
		switch {
		case run.Error != "":
			state = run.Error
		case run.Writing:
			state = "being written"
		case !run.Closed:
			state = "not closed (its writer stopped)"
		}
		// The host as the client named it: through an SSH tunnel that is
		// the tunnel's end, which is what the command needs.
		rows[i] = pageRow{RunInfo: run, HeadText: strings.Join(head, "-"), State: state,
			Command: fmt.Sprintf("mlpviz view http://%s/runs/%s", r.Host, run.Name)}
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	page.Execute(w, struct {
		Token bool
		Rows  []pageRow
	}{s.cfg.Token != "", rows})
}
