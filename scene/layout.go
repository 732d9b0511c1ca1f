// Package scene is the pure-Go half of the network view: where every neuron
// of the head sits, the vertex data that draws neurons and connections, the
// colour ranges, the camera and picking. It does not import Ebitengine, so
// it is tested and benchmarked without a window; the engine package hands
// its vertices to the GPU.
package scene

import (
	"fmt"
	"math"

	"github.com/mlpviz/mlpviz/collector"
)

// World-space spacing of the layout. Neurons keep one size; wide layers
// become grids instead of ever taller columns.
const (
	neuronSpacing = 12  // centre to centre inside a layer
	neuronRadius  = 4.5 // world units
	layerGap      = 320 // free space between two layers' grids
	maxRows       = 64  // a layer taller than this wraps into more columns
)

// The window sizes, in logical pixels, that the view lays out: smaller
// windows cannot fit a head beside its panels, larger ones exceed what a
// GPU texture may hold.
const (
	MinWidth, MinHeight = 320, 200
	MaxSide             = 16384
)

// Rect is an axis-aligned rectangle in world or screen units.
type Rect struct{ MinX, MinY, MaxX, MaxY float32 }

// Contains reports whether (x, y) lies inside r.
func (r Rect) Contains(x, y float32) bool {
	return x >= r.MinX && x <= r.MaxX && y >= r.MinY && y <= r.MaxY
}

// LayerLayout is one column (or grid) of neurons.
type LayerLayout struct {
	N          int     // neurons
	First      int     // global id of the first neuron
	Cols, Rows int     // grid; neuron i sits at row i/Cols, column i%Cols
	Left, Top  float32 // world position of neuron 0's centre
	Name       string  // "input 576", "hidden 24", "output 10"
	Bounds     Rect    // the grid with a neuron's radius around it
}

// Layout places every neuron of a head in world coordinates, layers from
// left to right, each centred on y = 0.
type Layout struct {
	Layers []LayerLayout // len(head)+1: the first Linear's inputs, then each Linear's outputs
	Bounds Rect
	total  int
}

// NewLayout lays out a head given its Linear layers' sizes.
func NewLayout(head []collector.LinearShape) (*Layout, error) {
	if len(head) == 0 {
		return nil, fmt.Errorf("scene: the head has no Linear layers")
	}
	sizes := []int{head[0].In}
	for i, s := range head {
		if s.In != sizes[i] || s.In <= 0 || s.Out <= 0 {
			return nil, fmt.Errorf("scene: layer %d is %dx%d but the previous layer has %d outputs", i, s.In, s.Out, sizes[i])
		}
		sizes = append(sizes, s.Out)
	}
	l := &Layout{Bounds: Rect{MinX: math.MaxFloat32, MinY: math.MaxFloat32, MaxX: -math.MaxFloat32, MaxY: -math.MaxFloat32}}
	x := float32(0)
	for k, n := range sizes {
		cols := (n + maxRows - 1) / maxRows
		rows := (n + cols - 1) / cols
		w := float32(cols-1) * neuronSpacing
		h := float32(rows-1) * neuronSpacing
		ll := LayerLayout{N: n, First: l.total, Cols: cols, Rows: rows, Left: x, Top: -h / 2, Name: layerName(k, len(sizes), n)}
		ll.Bounds = Rect{x - neuronRadius, -h/2 - neuronRadius, x + w + neuronRadius, h/2 + neuronRadius}
		l.Layers = append(l.Layers, ll)
		l.total += n
		l.Bounds.MinX = min(l.Bounds.MinX, ll.Bounds.MinX)
		l.Bounds.MinY = min(l.Bounds.MinY, ll.Bounds.MinY)
		l.Bounds.MaxX = max(l.Bounds.MaxX, ll.Bounds.MaxX)
		l.Bounds.MaxY = max(l.Bounds.MaxY, ll.Bounds.MaxY)
		x += w + layerGap
	}
	return l, nil
}

func layerName(k, layers, n int) string {
	switch k {
	case 0:
		return fmt.Sprintf("input %d", n)
	case layers - 1:
		return fmt.Sprintf("output %d", n)
	}
	return fmt.Sprintf("hidden %d", n)
}

// Neurons is the number of neurons in all layers.
func (l *Layout) Neurons() int { return l.total }

// Pos is the world position of neuron i of layer k.
func (l *Layout) Pos(k, i int) (x, y float32) {
	ll := &l.Layers[k]
	return ll.Left + float32(i%ll.Cols)*neuronSpacing, ll.Top + float32(i/ll.Cols)*neuronSpacing
}

// Locate turns a global neuron id into its layer and index.
func (l *Layout) Locate(id int) (k, i int, ok bool) {
	for k := range l.Layers {
		ll := &l.Layers[k]
		if id >= ll.First && id < ll.First+ll.N {
			return k, id - ll.First, true
		}
	}
	return 0, 0, false
}

// Radius is a neuron's radius in world units.
func (l *Layout) Radius() float32 { return neuronRadius }
