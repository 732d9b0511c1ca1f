package seedjson

import "slices"

// knownDataset is a dataset the seed trains on: how its labels name the
// classes (torchvision's names, which main.py puts in "label"), how mlpviz
// names them, and the normalisation main.py applies to every image.
type knownDataset struct {
	name      string
	labels    []string
	classes   []string
	mean, std []float64
}

var knownDatasets = []knownDataset{
	{
		name: "mnist",
		labels: []string{"0 - zero", "1 - one", "2 - two", "3 - three", "4 - four",
			"5 - five", "6 - six", "7 - seven", "8 - eight", "9 - nine"},
		classes: []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"},
		mean:    []float64{0.1310},
		std:     []float64{0.3085},
	},
	{
		name: "fashion_mnist",
		labels: []string{"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
			"Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"},
		mean: []float64{0.2860},
		std:  []float64{0.3530},
	},
	{
		name: "cifar10",
		labels: []string{"airplane", "automobile", "bird", "cat", "deer",
			"dog", "frog", "horse", "ship", "truck"},
		mean: []float64{0.4914, 0.4822, 0.4465},
		std:  []float64{0.2023, 0.1994, 0.2010},
	},
}

func init() {
	for i := range knownDatasets {
		if knownDatasets[i].classes == nil {
			knownDatasets[i].classes = knownDatasets[i].labels
		}
	}
}

func datasetNamed(name string) *knownDataset {
	for i := range knownDatasets {
		if knownDatasets[i].name == name {
			return &knownDatasets[i]
		}
	}
	return nil
}

// matchDataset returns the dataset whose label names all of names (class
// index to name) are, when its class count is classes.
func matchDataset(names map[int]string, classes int) *knownDataset {
	if len(names) == 0 {
		return nil
	}
next:
	for i := range knownDatasets {
		ds := &knownDatasets[i]
		if classes != len(ds.labels) {
			continue
		}
		for idx, name := range names {
			if idx >= len(ds.labels) || ds.labels[idx] != name {
				continue next
			}
		}
		return ds
	}
	return nil
}

// label is the seed's name of class i, or ok false.
func (ds *knownDataset) label(i int, classNames []string) (string, bool) {
	if i < 0 || i >= len(ds.labels) || !slices.Equal(classNames, ds.classes) {
		return "", false
	}
	return ds.labels[i], true
}

// unnormalise maps a normalised image (channel by channel) back to 0..1.
func (ds *knownDataset) unnormalise(img []float32, shape [3]int) []float32 {
	return ds.apply(img, shape, func(x float32, c int) float32 {
		return float32(float64(x)*ds.std[c] + ds.mean[c])
	})
}

// normalise is main.py's transforms.Normalize.
func (ds *knownDataset) normalise(img []float32, shape [3]int) []float32 {
	return ds.apply(img, shape, func(x float32, c int) float32 {
		return float32((float64(x) - ds.mean[c]) / ds.std[c])
	})
}

func (ds *knownDataset) apply(img []float32, shape [3]int, f func(float32, int) float32) []float32 {
	if len(img) == 0 || shape[0] != len(ds.mean) {
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
