package collector

import (
	"errors"
	"fmt"
	"strings"
)

// Check reports whether p fits a: one layer per Linear layer of the head,
// each array of the size its layer takes, the image and the class outputs of
// the sizes the input shape and the classes give. Every writer of passes
// (run files, seed files, the pipeline) asks it, so that they all accept the
// same passes and word a refusal alike. Gradients, the image, logits and
// probs may be left out (empty); logits and probs are not checked when the
// classes are unknown. Layers are numbered from 1, as users count them.
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
	s := a.InputShape
	if img := s[0] * s[1] * s[2]; len(p.Image) != 0 && len(p.Image) != img {
		return fmt.Errorf("pass at step %d: image has %s, the %dx%dx%d input takes %d",
			p.Step, plural(len(p.Image), "value"), s[0], s[1], s[2], img)
	}
	if n := len(a.ClassNames); n > 0 {
		for _, f := range [...]struct {
			name string
			n    int
		}{{"logits", len(p.Logits)}, {"probs", len(p.Probs)}} {
			if f.n != 0 && f.n != n {
				return fmt.Errorf("pass at step %d: %s has %s for %s", p.Step, f.name, plural(f.n, "value"), plural(n, "class"))
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
