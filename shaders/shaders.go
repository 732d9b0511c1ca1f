// Package shaders holds the Kage sources that draw the network, embedded so
// the binary carries them. Kage has no vertex stage: the engine projects
// vertices on the CPU (scene.Geometry.Project) and these fragment shaders
// turn the data in each vertex (weight, neuron ids, activation, layer) into
// colour, using uniforms for everything the user changes without a new pass:
// the hovered neuron, dimming and the colour ranges.
package shaders

import _ "embed"

// Neurons draws each neuron quad as an antialiased disc coloured by its
// activation (diverging blue-white-red) or, for outputs, its probability.
//
//go:embed neurons.kage
var Neurons []byte

// Edges draws each connection quad red (w > 0) or blue (w < 0) with opacity
// from |w|, lighting the hovered neuron's connections and dimming the rest.
//
//go:embed edges.kage
var Edges []byte

// Bands draws the aggregate of a large head: one quad from each band of a
// layer to each band of the next, coloured by the sign balance of the
// weights between them and as opaque as their share of the weight mass.
//
//go:embed bands.kage
var Bands []byte

// MaxLayers is the size of the per-layer uniform arrays.
const MaxLayers = 16
