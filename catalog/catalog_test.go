package catalog

import (
	"slices"
	"testing"
)

// Every recipe chains: each layer takes what the one before gives, and the
// model ends in one output per class.
func TestRecipesChain(t *testing.T) {
	for _, m := range Models() {
		if _, err := m.Trace(); err != nil {
			t.Error(err)
		}
	}
}

func TestHeads(t *testing.T) {
	want := map[string][]int{
		"cnn":         {576, 24, 24, 24, 24, 10},
		"cnn_large":   {6272, 128, 64, 10},
		"cifar10_cnn": {4096, 1024, 512, 10},
	}
	for _, m := range Models() {
		h := m.Head()
		sizes := []int{h[0].In}
		for _, l := range h {
			sizes = append(sizes, l.Out)
		}
		if !slices.Equal(sizes, want[m.Name]) {
			t.Errorf("%s head %v, want %v", m.Name, sizes, want[m.Name])
		}
	}
}

// The compatibility rule is a comparison of shapes: the 28x28 grey models
// fit MNIST and Fashion-MNIST, cifar10_cnn fits CIFAR-10 only.
func TestFits(t *testing.T) {
	for _, d := range Datasets() {
		var names []string
		for _, m := range ModelsFor(d) {
			names = append(names, m.Name)
		}
		want := []string{"cnn", "cnn_large"}
		if d.Name == "cifar10" {
			want = []string{"cifar10_cnn"}
		}
		if !slices.Equal(names, want) {
			t.Errorf("%s fits %v, want %v", d.Name, names, want)
		}
		if DefaultModel(d).Name != want[0] {
			t.Errorf("%s default model %s", d.Name, DefaultModel(d).Name)
		}
	}
	err := LookupModel("cnn").Fits(LookupDataset("cifar10"))
	if err == nil || err.Error() != "model cnn takes 28x28 grey images; cifar10 has 32x32 colour images" {
		t.Errorf("cnn on cifar10: %v", err)
	}
}

func TestDatasetFacts(t *testing.T) {
	for _, d := range Datasets() {
		if len(d.Classes) != 10 || len(d.TorchClasses) != 10 {
			t.Errorf("%s: %d classes, %d torchvision classes", d.Name, len(d.Classes), len(d.TorchClasses))
		}
		if len(d.Mean) != d.Shape[0] || len(d.Std) != d.Shape[0] {
			t.Errorf("%s: %d means and %d stds for %d channels", d.Name, len(d.Mean), len(d.Std), d.Shape[0])
		}
		for _, f := range d.Files {
			if len(f.MD5) != 32 || d.MD5(f.Name) != f.MD5 {
				t.Errorf("%s: file %s md5 %q", d.Name, f.Name, f.MD5)
			}
		}
		if LookupDataset(d.Name) != d {
			t.Errorf("LookupDataset(%s)", d.Name)
		}
	}
	if LookupDataset("imagenet") != nil || LookupModel("resnet") != nil {
		t.Error("unknown names found")
	}
	mn := DatasetWithTorchClasses(map[int]string{7: "7 - seven"}, 10)
	if mn == nil || mn.Name != "mnist" {
		t.Errorf("torchvision's MNIST names: %v", mn)
	}
	if d := DatasetWithTorchClasses(map[int]string{3: "cat"}, 10); d == nil || d.Name != "cifar10" {
		t.Errorf("cat: %v", d)
	}
	if d := DatasetWithTorchClasses(map[int]string{3: "cat"}, 7); d != nil {
		t.Errorf("7 classes matched %s", d.Name)
	}
	if m := ModelWithTorchClass("CNN_large"); m == nil || m.Name != "cnn_large" {
		t.Errorf("CNN_large: %v", m)
	}
}
