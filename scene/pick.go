package scene

import "math"

// Picker finds the neuron under a point through a uniform grid over the
// layout, so a hover costs a few cell lookups instead of a scan of every
// neuron (5,642 for cifar10_cnn's head).
type Picker struct {
	layout       *Layout
	cell         float32
	cols, rows   int
	minX, minY   float32
	start, cells []int32   // CSR: neurons of cell c are cells[start[c]:start[c+1]]
	at           []float32 // per neuron: x, y, radius
}

// NewPicker indexes every neuron of l.
func NewPicker(l *Layout) *Picker {
	p := &Picker{layout: l, cell: 4 * spacing, minX: l.Bounds.MinX, minY: l.Bounds.MinY}
	p.cols = int((l.Bounds.MaxX-l.Bounds.MinX)/p.cell) + 1
	p.rows = int((l.Bounds.MaxY-l.Bounds.MinY)/p.cell) + 1
	p.at = make([]float32, 0, 3*l.Neurons())
	for k := range l.Layers {
		ll := &l.Layers[k]
		for i := range ll.N {
			x, y := ll.pos(i)
			p.at = append(p.at, x, y, ll.Radius)
		}
	}
	// Each neuron is listed in every cell its disc touches, so a pick looks
	// only at the cells within minRadius of the point, however large the
	// discs of a column are.
	each := func(f func(id int32, c int)) {
		for id := range l.Neurons() {
			x, y, r := p.at[3*id], p.at[3*id+1], p.at[3*id+2]
			c0, c1 := p.cellOf(x-r, y-r), p.cellOf(x+r, y+r)
			for cy := c0 / p.cols; cy <= c1/p.cols; cy++ {
				for cx := c0 % p.cols; cx <= c1%p.cols; cx++ {
					f(int32(id), cy*p.cols+cx)
				}
			}
		}
	}
	count := make([]int32, p.cols*p.rows+1)
	each(func(_ int32, c int) { count[c+1]++ })
	for c := 1; c < len(count); c++ {
		count[c] += count[c-1]
	}
	p.start = count
	p.cells = make([]int32, count[len(count)-1])
	fill := append([]int32(nil), count[:len(count)-1]...)
	each(func(id int32, c int) {
		p.cells[fill[c]] = id
		fill[c]++
	})
	return p
}

func (p *Picker) cellOf(x, y float32) int {
	cx := min(max(int((x-p.minX)/p.cell), 0), p.cols-1)
	cy := min(max(int((y-p.minY)/p.cell), 0), p.rows-1)
	return cy*p.cols + cx
}

// Pick returns the id of the neuron whose disc (radius grown to at least
// minRadius world units, so tiny neurons stay easy to hit) contains (x, y),
// the nearest if several do, or -1.
func (p *Picker) Pick(x, y, minRadius float32) int {
	if !(Rect{p.minX - minRadius, p.minY - minRadius, p.layout.Bounds.MaxX + minRadius, p.layout.Bounds.MaxY + minRadius}).Contains(x, y) {
		return -1
	}
	r := max(minRadius, 0)
	best, bestD := -1, float32(math.MaxFloat32)
	c0x := int((x - r - p.minX) / p.cell)
	c1x := int((x + r - p.minX) / p.cell)
	c0y := int((y - r - p.minY) / p.cell)
	c1y := int((y + r - p.minY) / p.cell)
	for cy := max(c0y, 0); cy <= min(c1y, p.rows-1); cy++ {
		for cx := max(c0x, 0); cx <= min(c1x, p.cols-1); cx++ {
			c := cy*p.cols + cx
			for _, id := range p.cells[p.start[c]:p.start[c+1]] {
				a := p.at[3*id : 3*id+3 : 3*id+3]
				rr := max(a[2], minRadius)
				if d := (a[0]-x)*(a[0]-x) + (a[1]-y)*(a[1]-y); d <= rr*rr && d < bestD {
					best, bestD = int(id), d
				}
			}
		}
	}
	return best
}
