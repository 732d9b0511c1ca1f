package trainer

import (
	"fmt"

	"github.com/mlpviz/mlpviz/catalog"
	"github.com/mlpviz/mlpviz/internal/sysmem"
)

// bytesPerActivation is what one value of a layer's output costs per image
// in a training step: the output, its gradient, the layer's saved
// inputs and the convolutions' unfolded patches together. Fitted to the
// peak RSS of "mlpviz train --headless --max-steps 2" at batch sizes 256,
// 1024 and 4096 on the CPU backend (cnn: 378 KB per image for 57,482
// activations; cnn_large: 3.06 MB for 333,194), rounded up to the larger.
const bytesPerActivation = 10

// BatchBytes estimates the memory one training step of model takes for
// batch images, beyond the model and the dataset.
func BatchBytes(model *catalog.Model, batch int) (uint64, error) {
	one, err := imageBytes(model)
	return one * uint64(batch), err
}

// imageBytes is what one image of a batch costs a training step.
func imageBytes(model *catalog.Model) (uint64, error) {
	shapes, err := model.Trace()
	if err != nil {
		return 0, err
	}
	values := 0
	for _, s := range shapes {
		n := 1
		for _, d := range s {
			n *= d
		}
		values += n
	}
	return uint64(values) * bytesPerActivation, nil
}

// MemoryError is a batch too big for the memory this machine has left.
type MemoryError struct {
	Batch     int
	Need      uint64 // bytes, estimated
	Available uint64
	MaxBatch  int // the largest batch that fits
}

func (e *MemoryError) Error() string {
	return fmt.Sprintf("--batch-size %d needs about %s for its activations, and this machine has %s available; use --batch-size %d or less",
		e.Batch, gigabytes(e.Need), gigabytes(e.Available), e.MaxBatch)
}

func gigabytes(b uint64) string {
	if b < 1<<30 {
		return fmt.Sprintf("%.0f MB", float64(b)/(1<<20))
	}
	return fmt.Sprintf("%.1f GB", float64(b)/(1<<30))
}

// checkMemory refuses a batch whose step would not fit in the memory left,
// before anything is allocated for it.
func checkMemory(model *catalog.Model, batch int) error {
	avail, ok := sysmem.Available()
	if !ok {
		return nil
	}
	one, err := imageBytes(model)
	if err != nil {
		return err
	}
	if need := one * uint64(batch); need > avail {
		return &MemoryError{Batch: batch, Need: need, Available: avail, MaxBatch: int(avail / max(one, 1))}
	}
	return nil
}
