package backend

import (
	"slices"
	"testing"
)

// TestTensorViews: a Slice shares its tensor's values on the host and
// moves the address on a device; out-of-range views panic.
func TestTensorViews(t *testing.T) {
	c := NewCPU(1)
	x := c.Alloc(6)
	c.Upload(x, []float32{0, 1, 2, 3, 4, 5})
	v := x.Slice(2, 3)
	if v.Len() != 3 || v.Device() != 0 || v.Bytes() != 12 {
		t.Fatalf("view: len %d, device %#x, bytes %d", v.Len(), v.Device(), v.Bytes())
	}
	c.Upload(v.Slice(1, 1), []float32{30})
	got := make([]float32, 6)
	c.Download(got, x)
	if !slices.Equal(got, []float32{0, 1, 2, 30, 4, 5}) {
		t.Fatalf("write through a view: %v", got)
	}
	c.Zero(v)
	if !slices.Equal(Host(x), []float32{0, 1, 0, 0, 0, 5}) {
		t.Fatalf("zero a view: %v", Host(x))
	}

	d := OnDevice[float64](0x1000, 4)
	if s := d.Slice(1, 2); s.Device() != 0x1008 || s.Len() != 2 || Host(s) != nil {
		t.Fatalf("device view at %#x, %d values", s.Device(), s.Len())
	}
	if (Tensor{}).Slice(0, 0).Len() != 0 {
		t.Fatal("a slice of no tensor has values")
	}
	for _, bad := range [][2]int{{-1, 1}, {5, 2}, {0, 7}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Slice(%d, %d) of 6 values did not panic", bad[0], bad[1])
				}
			}()
			x.Slice(bad[0], bad[1])
		}()
	}
}

// TestUploadDownload: every element type round-trips, and a length that
// does not match panics instead of copying part.
func TestUploadDownload(t *testing.T) {
	c := NewCPU(1)
	labels := c.AllocInt(3)
	c.UploadInt(labels, []int32{7, 8, 9})
	if !slices.Equal(Host(labels), []int32{7, 8, 9}) {
		t.Fatalf("labels %v", Host(labels))
	}
	f := c.AllocFloat64(2)
	Host(f)[1] = 4
	got := make([]float64, 2)
	c.DownloadFloat64(got, f)
	if !slices.Equal(got, []float64{0, 4}) {
		t.Fatalf("figures %v", got)
	}
	defer func() {
		if recover() == nil {
			t.Error("uploading 2 values into 3 did not panic")
		}
	}()
	c.Upload(c.Alloc(3), []float32{1, 2})
}

// TestBroadcastSumRows: the bias of a Linear layer forward (a row copied
// to every row) and backward (the rows summed onto what is there).
func TestBroadcastSumRows(t *testing.T) {
	c := NewCPU(1)
	y := OnHost(make([]float32, 6))
	c.Broadcast(OnHost([]float32{1, 2}), y)
	if !slices.Equal(Host(y), []float32{1, 2, 1, 2, 1, 2}) {
		t.Fatalf("broadcast %v", Host(y))
	}
	sum := OnHost([]float32{10, 20})
	c.SumRows(OnHost([]float32{1, 2, 3, 4, 5, 6}), sum)
	if !slices.Equal(Host(sum), []float32{19, 32}) {
		t.Fatalf("sum of rows %v", Host(sum))
	}
}
