package main

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/mlpviz/mlpviz/collector"
	"github.com/mlpviz/mlpviz/collector/runfile"
)

// summary is what "mlpviz inspect" reports; its JSON form is stable for
// scripts.
type summary struct {
	FormatVersion int                     `json:"format_version"`
	Dataset       string                  `json:"dataset"`
	Model         string                  `json:"model"`
	Precision     string                  `json:"precision"`
	Passes        int                     `json:"passes"`
	FirstStep     *int                    `json:"first_step"`
	LastStep      *int                    `json:"last_step"`
	Layers        []collector.LinearShape `json:"layers"`
	NeuronCap     int                     `json:"neuron_cap"`
	Gradients     bool                    `json:"gradients"`
	LossFirst     *float32                `json:"loss_first"`
	LossLast      *float32                `json:"loss_last"`
	Bytes         int64                   `json:"bytes"`
	BytesPerPass  int64                   `json:"bytes_per_pass"`
	Closed        bool                    `json:"closed"` // the writer finished cleanly (index present)
	Damaged       bool                    `json:"damaged"`
	DamageOffset  *int64                  `json:"damage_offset,omitempty"`
	DamageReason  string                  `json:"damage_reason,omitempty"`
	WholePasses   int                     `json:"whole_passes"`
}

func runInspect(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("inspect")
	asJSON := fs.Bool("json", false, "print one JSON object")
	path, err := parseWithFile(fs, args, stdout)
	if err != nil {
		return err
	}
	r, err := openRun(path, stderr)
	if err != nil {
		return err
	}
	defer r.Close()
	s, err := summarize(r)
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(s); err != nil {
			return err
		}
	} else {
		printSummary(stdout, path, s)
	}
	if s.Damaged {
		return exitError{1, fmt.Sprintf("%s is damaged at byte %d (%s); the %d passes before it are whole", path, *s.DamageOffset, s.DamageReason, s.WholePasses)}
	}
	return nil
}

func summarize(r *runfile.Reader) (*summary, error) {
	a := r.Architecture()
	s := &summary{
		FormatVersion: r.FormatVersion(), Dataset: a.Dataset, Model: a.Model, Precision: r.Precision().String(),
		Passes: r.Len(), WholePasses: r.Len(), Layers: a.Head, NeuronCap: a.NeuronCap, Gradients: a.Gradients,
		Bytes: r.Size(), Closed: r.Closed(),
	}
	if n := r.Len(); n > 0 {
		first, err := r.Pass(0)
		if err != nil {
			return nil, err
		}
		last, err := r.Pass(n - 1)
		if err != nil {
			return nil, err
		}
		s.FirstStep, s.LastStep = &first.Step, &last.Step
		s.LossFirst, s.LossLast = &first.Loss, &last.Loss
		s.BytesPerPass = r.Size() / int64(n)
	}
	if d := r.Damage(); d != nil {
		s.Damaged, s.DamageOffset, s.DamageReason = true, &d.Offset, d.Reason
	}
	return s, nil
}

func printSummary(w io.Writer, path string, s *summary) {
	fmt.Fprintf(w, "%s: mlpv format %d, %s precision\n", path, s.FormatVersion, s.Precision)
	fmt.Fprintf(w, "  run      %s on %s\n", orUnknown(s.Model), orUnknown(s.Dataset))
	head := ""
	for i, l := range s.Layers {
		if i == 0 {
			head = fmt.Sprint(l.In)
		}
		head += fmt.Sprintf("-%d", l.Out)
	}
	capNote := "full size"
	if s.NeuronCap > 0 {
		capNote = fmt.Sprintf("neuron cap %d", s.NeuronCap)
	}
	fmt.Fprintf(w, "  head     %s (%s, gradients %v)\n", head, capNote, s.Gradients)
	if s.Passes == 0 {
		fmt.Fprintln(w, "  passes   none yet")
	} else {
		fmt.Fprintf(w, "  passes   %d, steps %d..%d\n", s.Passes, *s.FirstStep, *s.LastStep)
		fmt.Fprintf(w, "  loss     %.4f -> %.4f\n", *s.LossFirst, *s.LossLast)
	}
	fmt.Fprintf(w, "  size     %d bytes (%d per pass)\n", s.Bytes, s.BytesPerPass)
	state := "closed cleanly"
	switch {
	case s.Damaged:
		state = fmt.Sprintf("DAMAGED at byte %d: %s", *s.DamageOffset, s.DamageReason)
	case !s.Closed:
		state = "still being written, or its writer stopped before closing it"
	}
	fmt.Fprintf(w, "  state    %s\n", state)
}
