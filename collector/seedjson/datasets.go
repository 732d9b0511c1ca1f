package seedjson

import (
	"slices"

	"github.com/mlpviz/mlpviz/catalog"
)

// The datasets the PyTorch tool trains on come from the catalog: their
// torchvision class names tell a plain collection's dataset, and their
// statistics undo the normalisation of its images.

// datasetFor is the dataset a model fixes when it takes the images of only
// one (cifar10_cnn: CIFAR-10), or nil.
func datasetFor(model string) *catalog.Dataset {
	m := catalog.LookupModel(model)
	if m == nil {
		return nil
	}
	var only *catalog.Dataset
	for _, d := range catalog.Datasets() {
		if m.Fits(d) == nil {
			if only != nil {
				return nil
			}
			only = d
		}
	}
	return only
}

// torchLabel is the torchvision name of class i, which the PyTorch tool
// writes, when classNames are the dataset's own; ok false otherwise.
func torchLabel(ds *catalog.Dataset, i int, classNames []string) (string, bool) {
	if ds == nil || i < 0 || i >= len(ds.TorchClasses) || !slices.Equal(classNames, ds.Classes) {
		return "", false
	}
	return ds.TorchClasses[i], true
}

// unnormalise maps a normalised image (channel by channel) back to 0..1.
func unnormalise(ds *catalog.Dataset, img []float32, shape [3]int) []float32 {
	return apply(ds, img, shape, func(x float32, c int) float32 {
		return float32(float64(x)*ds.Std[c] + ds.Mean[c])
	})
}

// normalise is the PyTorch tool's transforms.Normalize.
func normalise(ds *catalog.Dataset, img []float32, shape [3]int) []float32 {
	return apply(ds, img, shape, func(x float32, c int) float32 {
		return float32((float64(x) - ds.Mean[c]) / ds.Std[c])
	})
}

func apply(ds *catalog.Dataset, img []float32, shape [3]int, f func(float32, int) float32) []float32 {
	if ds == nil || len(img) == 0 || shape[0] != len(ds.Mean) {
		return img
	}
	plane := shape[1] * shape[2]
	if plane == 0 || len(img) != shape[0]*plane {
		return img
	}
	out := make([]float32, len(img))
	for i, x := range img {
		out[i] = f(x, i/plane)
	}
	return out
}
