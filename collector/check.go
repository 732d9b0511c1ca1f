package collector

import (
	"errors"
	"fmt"
	"strings"
)

// Check reports whether p fits a: one layer per Linear layer of the head,
// each array of the size its layer takes, the image and the class outputs of
// the sizes the input shape and the classes give, and the probe set and
// neuron health, when present, of the sizes the architecture (Probes,
// HealthBatch) and the head give. Every writer of passes (run files, seed files, the pipeline) asks
// it, so that they all accept the same passes and word a refusal alike.
// Gradients, the image, logits and probs may be left out (empty), as may
// the probes and the health as a whole; logits and probs are not checked
// when the classes are unknown. Layers, hidden layers and probes are
// numbered from 1, as users count them (probe 1 is the pass's own).
func (a *Architecture) Check(p *Pass) error {
	if p == nil {
		return errors.New("no pass (nil)")
	}
	if len(p.Layers) != len(a.Head) {
		return fmt.Errorf("pass at step %d has %s, the head has %d", p.Step, plural(len(p.Layers), "layer"), len(a.Head))
	}
	for i, l := range p.Layers {
		h := a.Head[i]
		for _, f := range [...]struct {
			name     string
			n, want  int
			optional bool
		}{
			{"input", len(l.Input), h.In, false},
			{"output", len(l.Output), h.Out, false},
			{"weight", len(l.Weight), h.In * h.Out, false},
			{"bias", len(l.Bias), h.Out, false},
			{"weight gradient", len(l.GradWeight), h.In * h.Out, true},
			{"bias gradient", len(l.GradBias), h.Out, true},
		} {
			if f.n != f.want && (!f.optional || f.n != 0) {
				return fmt.Errorf("pass at step %d: layer %d %s has %s, the head's %dx%d layer takes %d",
					p.Step, i+1, f.name, plural(f.n, "value"), h.In, h.Out, f.want)
			}
		}
	}
	if err := a.checkSample(p.Step, "", p.Image, p.Logits, p.Probs, len(a.ClassNames)); err != nil {
		return err
	}
	if err := a.checkProbes(p); err != nil {
		return err
	}
	return a.checkHealth(p)
}

// checkSample checks a probe's image, logits and probs; classes is how many
// class outputs they take, 0 for any number.
func (a *Architecture) checkSample(step int, who string, image, logits, probs []float32, classes int) error {
	s := a.InputShape
	if img := s[0] * s[1] * s[2]; len(image) != 0 && len(image) != img {
		return fmt.Errorf("pass at step %d: %simage has %s, the %dx%dx%d input takes %d",
			step, who, plural(len(image), "value"), s[0], s[1], s[2], img)
	}
	if classes > 0 {
		for _, f := range [...]struct {
			name string
			n    int
		}{{"logits", len(logits)}, {"probs", len(probs)}} {
			if f.n != 0 && f.n != classes {
				return fmt.Errorf("pass at step %d: %s%s has %s for %s", step, who, f.name, plural(f.n, "value"), plural(classes, "class"))
			}
		}
	}
	return nil
}

// ProbeClasses is how many logits and probs each probe of Pass.Probes
// takes (or none): one per class, or where the classes are unknown one per
// output of the head's last layer.
func (a *Architecture) ProbeClasses() int {
	if n := len(a.ClassNames); n > 0 || len(a.Head) == 0 {
		return n
	}
	return a.Head[len(a.Head)-1].Out
}

// checkProbes checks the probe set: none, or the architecture's count less
// the pass's own probe, each with its activations of every layer.
func (a *Architecture) checkProbes(p *Pass) error {
	if len(p.Probes) == 0 {
		return nil
	}
	if want := max(a.Probes, 1); len(p.Probes) != want-1 {
		return fmt.Errorf("pass at step %d holds %s, the run's probe set has %d", p.Step, plural(1+len(p.Probes), "probe"), want)
	}
	classes := a.ProbeClasses()
	for j := range p.Probes {
		pr := &p.Probes[j]
		who := fmt.Sprintf("probe %d ", j+2)
		if err := a.checkSample(p.Step, who, pr.Image, pr.Logits, pr.Probs, classes); err != nil {
			return err
		}
		if len(pr.Layers) != len(a.Head) {
			return fmt.Errorf("pass at step %d: %shas %s, the head has %d", p.Step, who, plural(len(pr.Layers), "layer"), len(a.Head))
		}
		for i, l := range pr.Layers {
			h := a.Head[i]
			for _, f := range [...]struct {
				name    string
				n, want int
			}{{"input", len(l.Input), h.In}, {"output", len(l.Output), h.Out}} {
				if f.n != f.want {
					return fmt.Errorf("pass at step %d: %slayer %d %s has %s, the head's %dx%d layer takes %d",
						p.Step, who, i+1, f.name, plural(f.n, "value"), h.In, h.Out, f.want)
				}
			}
		}
	}
	return nil
}

// checkHealth checks the neuron health: none, or, where the run measures
// it, one LayerHealth per hidden layer, each array one value per neuron,
// active fractions within 0..1.
func (a *Architecture) checkHealth(p *Pass) error {
	if len(p.Health) == 0 {
		return nil
	}
	if a.HealthBatch <= 0 {
		return fmt.Errorf("pass at step %d holds neuron health, the run measures none (its health batch is %d)", p.Step, a.HealthBatch)
	}
	hidden := max(len(a.Head)-1, 0)
	if len(p.Health) != hidden {
		return fmt.Errorf("pass at step %d has the health of %s, the head has %d", p.Step, plural(len(p.Health), "hidden layer"), hidden)
	}
	for h := range p.Health {
		lh, n := &p.Health[h], a.Head[h+1].In
		for _, f := range [...]struct {
			name string
			n    int
		}{{"mean", len(lh.Mean)}, {"active fraction", len(lh.Active)}, {"deviation", len(lh.Std)}} {
			if f.n != n {
				return fmt.Errorf("pass at step %d: hidden layer %d health %s has %s, the layer has %s",
					p.Step, h+1, f.name, plural(f.n, "value"), plural(n, "neuron"))
			}
		}
		for i, v := range lh.Active {
			if !(v >= 0 && v <= 1) {
				return fmt.Errorf("pass at step %d: hidden layer %d neuron %d is active for a fraction %g of the images, not within 0 to 1",
					p.Step, h+1, i+1, v)
			}
		}
	}
	return nil
}

// plural writes n with its noun, "1 layer" or "3 layers", "3 classes".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	if strings.HasSuffix(noun, "s") {
		return fmt.Sprintf("%d %ses", n, noun)
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
