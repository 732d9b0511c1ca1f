package scene

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/mlpviz/mlpviz/shaders"
)

// TestPaletteMatchesShaders: the legend paints from palette.go and the
// shaders from their own literals; a colour changed in one place only
// fails here.
func TestPaletteMatchesShaders(t *testing.T) {
	vec := func(c [3]float32) []byte { return []byte(fmt.Sprintf("vec3(%g, %g, %g)", c[0], c[1], c[2])) }
	for _, c := range []struct {
		name   string
		src    []byte
		colour [3]float32
	}{
		{"neurons.kage blue", shaders.Neurons, scaleBlue},
		{"neurons.kage white", shaders.Neurons, scaleWhite},
		{"neurons.kage red", shaders.Neurons, scaleRed},
		{"edges.kage negative", shaders.Edges, weightNegative},
		{"edges.kage positive", shaders.Edges, weightPositive},
		{"neurons.kage dead mark", shaders.Neurons, markDead},
		{"neurons.kage saturated mark", shaders.Neurons, markSaturated},
	} {
		if !bytes.Contains(c.src, vec(c.colour)) {
			t.Errorf("%s: the shader has no %s; palette.go and the shader disagree", c.name, vec(c.colour))
		}
	}
	if r, g, b := Diverging(0); r != scaleWhite[0] || g != scaleWhite[1] || b != scaleWhite[2] {
		t.Errorf("Diverging(0) = %g %g %g, want white", r, g, b)
	}
	if _, _, _, a := WeightColour(1); a < 0.8 {
		t.Errorf("WeightColour(1) opacity %g; a full-strength weight should be nearly opaque", a)
	}
}
