package nn

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/mlpviz/mlpviz/collector"
	"github.com/mlpviz/mlpviz/trainer/backend"
)

// Conv2D is a stride-1 square convolution with zero padding.
type Conv2D struct {
	In, Out, Kernel, Pad int
	Weight, Bias         Param
	be                   Backend
	x, y, dx             *Tensor
}

// NewConv2D makes a convolution initialised as PyTorch's default
// (uniform in ±1/√fan_in, fan_in = in·k·k).
func NewConv2D(be Backend, in, out, kernel, pad int, rng *rand.Rand) *Conv2D {
	bound := 1 / math.Sqrt(float64(in*kernel*kernel))
	w := uniform(rng, out*in*kernel*kernel, bound)
	return &Conv2D{In: in, Out: out, Kernel: kernel, Pad: pad, be: be,
		Weight: newParam(be, "weight", w),
		Bias:   newParam(be, "bias", uniform(rng, out, bound)),
	}
}

func (c *Conv2D) geom(x *Tensor) backend.ConvGeom {
	return backend.ConvGeom{N: x.Shape[0], C: c.In, H: x.Shape[2], W: x.Shape[3], K: c.Out, R: c.Kernel, Pad: c.Pad}
}

// Forward implements Layer.
func (c *Conv2D) Forward(x *Tensor, _ bool) *Tensor {
	g := c.geom(x)
	c.x = x
	c.y = buffer(c.be, c.y, g.N, g.K, g.OutH(), g.OutW())
	c.be.Conv2D(g, x.Data, c.Weight.W, c.Bias.W, c.y.Data)
	return c.y
}

// Backward implements Layer.
func (c *Conv2D) Backward(dy *Tensor, needInput bool) *Tensor {
	var dx backend.Tensor // none
	if needInput {
		c.dx = buffer(c.be, c.dx, c.x.Shape...)
		dx = c.dx.Data
	}
	c.be.Conv2DBackward(c.geom(c.x), c.x.Data, c.Weight.W, dy.Data, dx, c.Weight.G, c.Bias.G)
	if !needInput {
		return nil
	}
	return c.dx
}

// Params implements Layer.
func (c *Conv2D) Params() []*Param { return []*Param{&c.Weight, &c.Bias} }

// Describe implements Layer.
func (c *Conv2D) Describe() collector.Module {
	return collector.Module{Kind: "Conv2d", Settings: []collector.Setting{
		setting("in_channels", c.In), setting("out_channels", c.Out),
		setting("kernel_size", fmt.Sprintf("(%d, %d)", c.Kernel, c.Kernel)),
		setting("stride", "(1, 1)"),
		setting("padding", fmt.Sprintf("(%d, %d)", c.Pad, c.Pad))}}
}
