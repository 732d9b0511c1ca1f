package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"

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
	Passes        int                     `json:"passes"` // pass records found
	FirstStep     *int                    `json:"first_step"`
	LastStep      *int                    `json:"last_step"`
	Layers        []collector.LinearShape `json:"layers"`
	NeuronCap     int                     `json:"neuron_cap"`
	Gradients     bool                    `json:"gradients"`
	Probe         string                  `json:"probe"`        // the test image passes show: an index, "random", or "" when not recorded
	Probes        int                     `json:"probes"`       // probe images per pass (1 for runs before probe sets)
	HealthBatch   int                     `json:"health_batch"` // images neuron health is measured over; 0: none
	// Dead and Saturated count, per hidden layer, the neurons of the last
	// whole pass that the collector's rule finds dead or saturated; absent
	// when the run measures no health.
	Dead         []int    `json:"dead,omitempty"`
	Saturated    []int    `json:"saturated,omitempty"`
	LossFirst    *float32 `json:"loss_first"`
	LossLast     *float32 `json:"loss_last"`
	Bytes        int64    `json:"bytes"`
	BytesPerPass int64    `json:"bytes_per_pass"`
	Closed       bool     `json:"closed"`   // the writer finished cleanly (index present)
	Verified     bool     `json:"verified"` // every pass was decoded (not --quick)
	Damaged      bool     `json:"damaged"`
	DamageOffset *int64   `json:"damage_offset,omitempty"`
	DamageReason string   `json:"damage_reason,omitempty"`
	Damages      int      `json:"damages"` // damaged places found
	WholePasses  int      `json:"whole_passes"`
	// ExpectedPasses counts the passes written, by their sequence numbers,
	// including those damage hides from the scan.
	ExpectedPasses int `json:"expected_passes"`
}

// openFailure is what inspect --json prints for a file it cannot read as
// a run at all, so that a script always gets an object.
type openFailure struct {
	Path    string `json:"path"`
	Damaged bool   `json:"damaged"`
	Error   string `json:"error"`
}

func runInspect(args []string, stdout, stderr io.Writer) error {
	limitMemory()
	fs := newFlags("inspect")
	asJSON := fs.Bool("json", false, "print one JSON object")
	quick := fs.Bool("quick", false, "read only the header, the index and the first and last pass, not every pass")
	path, err := parseWithFile(fs, args, stdout)
	if err != nil {
		return err
	}
	r, err := openRun(path, stderr)
	if err != nil {
		if *asJSON {
			printJSON(stdout, openFailure{Path: path, Damaged: true, Error: err.Error()})
		}
		return err
	}
	defer r.Close()
	s := summarize(r, !*quick)
	if *asJSON {
		if err := printJSON(stdout, s); err != nil {
			return err
		}
	} else {
		printSummary(stdout, path, s)
	}
	if s.Damaged {
		return exitError{1, fmt.Sprintf("%s is damaged at byte %d (%s); %d of its %d passes are whole", path, *s.DamageOffset, s.DamageReason, s.WholePasses, s.ExpectedPasses)}
	}
	return nil
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// summarize describes r; verify decodes every pass, checking each
// record's checksums, sequence number and shape, where a quick look reads
// only the first and last.
func summarize(r *runfile.Reader, verify bool) *summary {
	a := r.Architecture()
	s := &summary{
		FormatVersion: r.FormatVersion(), Dataset: a.Dataset, Model: a.Model, Precision: r.Precision().String(),
		Passes: r.Len(), Layers: a.Head, NeuronCap: a.NeuronCap, Gradients: a.Gradients, Probe: a.Probe,
		Probes: max(a.Probes, 1), HealthBatch: a.HealthBatch,
		Bytes: r.Size(), Closed: r.Closed(), Verified: verify, ExpectedPasses: max(r.Len(), r.Expected()),
	}
	// Only the figures are kept: a pass can take 70 MB.
	var first, last struct {
		step int
		loss float32
	}
	found := false
	look := func(i int) {
		p, err := r.Pass(i)
		if err != nil {
			return
		}
		s.WholePasses++
		if !found {
			first.step, first.loss, found = p.Step, p.Loss, true
		}
		last.step, last.loss = p.Step, p.Loss
		s.Dead, s.Saturated = p.HealthCounts()
	}
	if n := r.Len(); verify {
		for i := range n {
			look(i)
		}
	} else if n > 0 {
		look(0)
		if n > 1 {
			look(n - 1)
		}
		s.WholePasses = max(n-len(r.Damages()), 0) // an estimate: not every pass was read
	}
	if found {
		s.FirstStep, s.LastStep = &first.step, &last.step
		s.LossFirst, s.LossLast = &first.loss, &last.loss
		s.BytesPerPass = r.Size() / int64(r.Len())
	}
	if ds := r.Damages(); len(ds) > 0 {
		d := ds[0]
		s.Damaged, s.DamageOffset, s.DamageReason, s.Damages = true, &d.Offset, d.Reason, len(ds)
	}
	return s
}

func printSummary(w io.Writer, path string, s *summary) {
	fmt.Fprintf(w, "%s: mlpv format %d, %s precision\n", path, s.FormatVersion, s.Precision)
	probe := ""
	switch s.Probe {
	case "":
	case "random":
		probe = ", a random test image each pass"
	default:
		probe = ", test image " + s.Probe + " in every pass"
	}
	fmt.Fprintf(w, "  run      %s on %s%s\n", orUnknown(s.Model), orUnknown(s.Dataset), probe)
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
	if s.Probes > 1 {
		fmt.Fprintf(w, "  probes   %d per pass\n", s.Probes)
	}
	if s.Dead != nil {
		fmt.Fprintf(w, "  health   over %d images, last pass: dead %s, saturated %s (per hidden layer)\n",
			s.HealthBatch, joinInts(s.Dead), joinInts(s.Saturated))
	}
	switch {
	case s.Passes == 0:
		fmt.Fprintln(w, "  passes   none yet")
	case s.FirstStep == nil:
		fmt.Fprintf(w, "  passes   %d, none whole\n", s.Passes)
	default:
		whole := ""
		if s.WholePasses != s.Passes {
			whole = fmt.Sprintf(" (%d whole)", s.WholePasses)
		}
		fmt.Fprintf(w, "  passes   %d%s, steps %d..%d\n", s.Passes, whole, *s.FirstStep, *s.LastStep)
		fmt.Fprintf(w, "  loss     %.4f -> %.4f\n", *s.LossFirst, *s.LossLast)
	}
	fmt.Fprintf(w, "  size     %d bytes (%d per pass)\n", s.Bytes, s.BytesPerPass)
	state := "closed cleanly"
	switch {
	case s.Damaged:
		state = fmt.Sprintf("DAMAGED at byte %d: %s", *s.DamageOffset, s.DamageReason)
		if s.Damages > 1 {
			state += fmt.Sprintf(" (and %d more places)", s.Damages-1)
		}
	case !s.Closed:
		state = "still being written, or its writer stopped before closing it"
	}
	if !s.Verified {
		state += " (--quick: passes not all read)"
	} else if !s.Damaged {
		state += ", every pass verified"
	}
	fmt.Fprintf(w, "  state    %s\n", state)
}

// joinInts writes counts as "0 3 1".
func joinInts(v []int) string {
	s := make([]string, len(v))
	for i, n := range v {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, " ")
}
