package dataset

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"path/filepath"
	"testing"
	"time"
)

// loadCached loads name from files placed in a fresh cache directory, with
// checksums matching them and no usable mirror, so only parsing is tested.
func loadCached(t *testing.T, name string, files map[string][]byte, records int) (*Dataset, string, error) {
	t.Helper()
	dir := t.TempDir()
	writeCache(t, dir, name, files)
	d, err := Load(context.Background(), name, Options{
		Dir: dir, Checksums: sums(files), Mirrors: []string{deadURL(t)}, batchRecords: records,
	})
	return d, filepath.Join(dir, name), err
}

func TestBadIDXFiles(t *testing.T) {
	badCRC := func(b []byte) []byte {
		b = bytes.Clone(b)
		binary.LittleEndian.PutUint32(b[len(b)-8:], binary.LittleEndian.Uint32(b[len(b)-8:])^1)
		return b
	}
	cases := []struct {
		name   string
		file   string
		data   func(t *testing.T) []byte
		expect []string
	}{
		{"not gzip", idxTrainImages,
			func(t *testing.T) []byte { return []byte("this is not gzip data at all") },
			[]string{idxTrainImages, "not a valid gzip file"}},
		{"bad gzip checksum", idxTestImages,
			func(t *testing.T) []byte { return badCRC(idxFiles(t, 3, 2)[idxTestImages]) },
			[]string{idxTestImages, "corrupt gzip data"}},
		{"wrong magic", idxTrainImages,
			func(t *testing.T) []byte { return gz(t, idx(idxLabelsMagic, []int{3}, []byte{1, 2, 3})) },
			[]string{idxTrainImages, "wrong IDX magic number 0x00000801, want 0x00000803"}},
		{"labels with image magic", idxTrainLabels,
			func(t *testing.T) []byte { return gz(t, idx(idxImagesMagic, []int{3, 1, 1}, []byte{1, 2, 3})) },
			[]string{idxTrainLabels, "wrong IDX magic number 0x00000803, want 0x00000801"}},
		{"truncated data", idxTrainImages,
			func(t *testing.T) []byte { return gz(t, idx(idxImagesMagic, []int{3, 28, 28}, make([]byte, 2*784+17))) },
			[]string{idxTrainImages, "truncated", "[3 28 28]"}},
		{"truncated header", idxTestLabels,
			func(t *testing.T) []byte { return gz(t, []byte{0, 0, 8, 1, 0}) },
			[]string{idxTestLabels, "truncated", "header"}},
		{"truncated gzip stream", idxTrainImages,
			func(t *testing.T) []byte { b := idxFiles(t, 3, 2)[idxTrainImages]; return b[:len(b)/2] },
			[]string{idxTrainImages, "truncated"}},
		{"trailing data", idxTestLabels,
			func(t *testing.T) []byte { return gz(t, idx(idxLabelsMagic, []int{2}, []byte{1, 2, 3})) },
			[]string{idxTestLabels, "unexpected data"}},
		{"count mismatch", idxTrainLabels,
			func(t *testing.T) []byte { return gz(t, idx(idxLabelsMagic, []int{2}, []byte{1, 2})) },
			[]string{"3 images", "2 labels", idxTrainImages, idxTrainLabels}},
		{"wrong image size", idxTrainImages,
			func(t *testing.T) []byte { return gz(t, idx(idxImagesMagic, []int{3, 32, 32}, make([]byte, 3*1024))) },
			[]string{"32x32", "want 28x28"}},
		{"label out of range", idxTrainLabels,
			func(t *testing.T) []byte { return gz(t, idx(idxLabelsMagic, []int{3}, []byte{1, 12, 3})) },
			[]string{idxTrainLabels, "label 12", "record 1"}},
		{"huge header", idxTrainImages,
			func(t *testing.T) []byte { return gz(t, idx(idxImagesMagic, []int{1 << 30, 28, 28}, nil)) },
			[]string{"implausible"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			files := idxFiles(t, 3, 2)
			files[tc.file] = tc.data(t)
			_, dir, err := loadCached(t, "fashion_mnist", files, 0)
			wantErr(t, err, append([]string{"dataset fashion_mnist", dir}, tc.expect...)...)
		})
	}
}

func TestCIFARSmall(t *testing.T) {
	const records = 4
	d, _, err := loadCached(t, "cifar10", map[string][]byte{cifarTarball: cifarTar(t, records, nil)}, records)
	if err != nil {
		t.Fatal(err)
	}
	if d.Shape != [3]int{3, 32, 32} || !d.Augment || d.Classes[0] != "airplane" || d.Std[2] != 0.2010 {
		t.Errorf("shape %v augment %v classes %q std %v", d.Shape, d.Augment, d.Classes, d.Std)
	}
	if d.Train.N != 5*records || d.Test.N != records ||
		len(d.Train.Pixels) != 5*records*3072 || len(d.Test.Labels) != records {
		t.Fatalf("got %d train / %d test", d.Train.N, d.Test.N)
	}
	// Training image 2*records+1 is record 1 of data_batch_3 (slot 2).
	i := 2*records + 1
	if d.Train.Labels[i] != 3 {
		t.Errorf("label %d = %d, want 3", i, d.Train.Labels[i])
	}
	img := d.Train.Pixels[i*3072 : (i+1)*3072]
	for _, k := range []int{0, 1023, 1024, 2048, 3071} {
		if img[k] != cifarPixel(2, 1, k) {
			t.Errorf("train image %d byte %d = %d, want %d", i, k, img[k], cifarPixel(2, 1, k))
		}
	}
	if d.Test.Labels[3] != (5+3)%10 || d.Test.Pixels[3*3072+2000] != cifarPixel(5, 3, 2000) {
		t.Error("test batch misplaced")
	}
}

// TestCIFAROfficialSize builds a tarball with the real 10000 records per
// batch (184 MB of records, compressing to a few MB) and loads it through
// the unmodified code path.
func TestCIFAROfficialSize(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 184 MB of records")
	}
	start := time.Now()
	tarball := cifarTar(t, cifarBatchRecords, nil)
	d, _, err := loadCached(t, "cifar10", map[string][]byte{cifarTarball: tarball}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if d.Train.N != 50000 || d.Test.N != 10000 {
		t.Fatalf("got %d train / %d test", d.Train.N, d.Test.N)
	}
	if d.Train.Labels[49999] != (4+9999)%10 || d.Train.Pixels[49999*3072+3071] != cifarPixel(4, 9999, 3071) {
		t.Error("last training image misplaced")
	}
	t.Logf("%.1f MB tarball built and loaded in %v", float64(len(tarball))/1e6, time.Since(start))
}

func TestBadCIFARTarball(t *testing.T) {
	const records = 3
	cases := []struct {
		name   string
		size   func(name string, n int) int
		expect []string
	}{
		{"batch not a multiple of the record size",
			func(name string, n int) int {
				if name == "data_batch_3.bin" {
					return n + 5
				}
				return n
			},
			[]string{"cifar-10-batches-bin/data_batch_3.bin", fmt.Sprint(records*3073 + 5), "3073"}},
		{"batch with too few records",
			func(name string, n int) int {
				if name == "test_batch.bin" {
					return n - 3073
				}
				return n
			},
			[]string{"cifar-10-batches-bin/test_batch.bin", fmt.Sprint((records - 1) * 3073), "want 3 records"}},
		{"missing batch",
			func(name string, n int) int {
				if name == "data_batch_5.bin" || name == "data_batch_2.bin" {
					return -1
				}
				return n
			},
			[]string{"missing cifar-10-batches-bin/data_batch_2.bin, cifar-10-batches-bin/data_batch_5.bin"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			files := map[string][]byte{cifarTarball: cifarTar(t, records, tc.size)}
			_, dir, err := loadCached(t, "cifar10", files, records)
			wantErr(t, err, append([]string{"dataset cifar10", filepath.Join(dir, cifarTarball)}, tc.expect...)...)
		})
	}

	t.Run("corrupt gzip", func(t *testing.T) {
		b := cifarTar(t, records, nil)
		b = b[:len(b)*2/3]
		_, _, err := loadCached(t, "cifar10", map[string][]byte{cifarTarball: b}, records)
		wantErr(t, err, cifarTarball, "truncated")
	})
	t.Run("not gzip", func(t *testing.T) {
		_, _, err := loadCached(t, "cifar10", map[string][]byte{cifarTarball: []byte("<html>404</html>")}, records)
		wantErr(t, err, cifarTarball, "not a valid gzip file")
	})
}
