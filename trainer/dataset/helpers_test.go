package dataset

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/md5"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
)

// The official file names, as the catalog lists them.
const (
	idxTrainImages = "train-images-idx3-ubyte.gz"
	idxTrainLabels = "train-labels-idx1-ubyte.gz"
	idxTestImages  = "t10k-images-idx3-ubyte.gz"
	idxTestLabels  = "t10k-labels-idx1-ubyte.gz"
	cifarTarball   = "cifar-10-binary.tar.gz"
)

// gz compresses b the way the official files are stored.
func gz(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// idx returns an uncompressed IDX file with the given magic, dimensions
// and data.
func idx(magic uint32, dims []int, data []byte) []byte {
	b := binary.BigEndian.AppendUint32(nil, magic)
	for _, d := range dims {
		b = binary.BigEndian.AppendUint32(b, uint32(d))
	}
	return append(b, data...)
}

// testPixel is the byte stored at offset k of image i in the synthetic sets.
func testPixel(i, k int) uint8 { return uint8(i*7 + k*13 + k/28) }

// idxFiles returns the four gzip'd IDX files of a small 28x28 dataset with
// nTrain and nTest images; label of image i is i%10.
func idxFiles(t testing.TB, nTrain, nTest int) map[string][]byte {
	t.Helper()
	mk := func(n int) (images, labels []byte) {
		px := make([]byte, n*784)
		lb := make([]byte, n)
		for i := range n {
			for k := range 784 {
				px[i*784+k] = testPixel(i, k)
			}
			lb[i] = uint8(i % 10)
		}
		return gz(t, idx(idxImagesMagic, []int{n, 28, 28}, px)), gz(t, idx(idxLabelsMagic, []int{n}, lb))
	}
	files := map[string][]byte{}
	files[idxTrainImages], files[idxTrainLabels] = mk(nTrain)
	files[idxTestImages], files[idxTestLabels] = mk(nTest)
	return files
}

// cifarPixel is the byte at offset k of record r of batch slot b.
func cifarPixel(b, r, k int) uint8 { return uint8(b*31 + r*5 + k*3 + k/1024) }

// cifarTar builds a tarball in the official CIFAR-10 binary layout with
// records per batch file. size, when non-nil, may override the byte count
// of a member (returning -1 drops it).
func cifarTar(t testing.TB, records int, size func(name string, n int) int) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
	if err != nil {
		t.Fatal(err)
	}
	tw := tar.NewWriter(zw)
	add := func(name string, data []byte) {
		hdr := &tar.Header{Name: name, Mode: 0o644, Size: int64(len(data)), Typeflag: tar.TypeReg}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(data); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.WriteHeader(&tar.Header{Name: "cifar-10-batches-bin/", Mode: 0o755, Typeflag: tar.TypeDir}); err != nil {
		t.Fatal(err)
	}
	add("cifar-10-batches-bin/batches.meta.txt", []byte("airplane\nautomobile\n"))
	members := []string{"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin",
		"data_batch_4.bin", "data_batch_5.bin", "test_batch.bin"}
	for slot, m := range members {
		data := make([]byte, records*cifarRecordBytes)
		for r := range records {
			rec := data[r*cifarRecordBytes : (r+1)*cifarRecordBytes]
			rec[0] = uint8((slot + r) % 10)
			for k := range cifarImageBytes {
				rec[1+k] = cifarPixel(slot, r, k)
			}
		}
		n := len(data)
		if size != nil {
			n = size(m, n)
		}
		if n < 0 {
			continue
		}
		if n > len(data) {
			data = append(data, make([]byte, n-len(data))...)
		}
		add("cifar-10-batches-bin/"+m, data[:n])
	}
	add("cifar-10-batches-bin/readme.html", []byte("<html></html>"))
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func md5hex(b []byte) string {
	s := md5.Sum(b)
	return hex.EncodeToString(s[:])
}

// sums returns the checksum override for files.
func sums(files map[string][]byte) map[string]string {
	m := map[string]string{}
	for name, b := range files {
		m[name] = md5hex(b)
	}
	return m
}

// writeCache stores files in dir/name as a user would place them by hand.
func writeCache(t testing.TB, dir, name string, files map[string][]byte) {
	t.Helper()
	d := filepath.Join(dir, name)
	if err := os.MkdirAll(d, 0o755); err != nil {
		t.Fatal(err)
	}
	for f, b := range files {
		if err := os.WriteFile(filepath.Join(d, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// deadURL returns a mirror URL on which nothing listens, so tests that must
// not download fail fast instead of reaching the network.
func deadURL(t testing.TB) string {
	t.Helper()
	srv := httptest.NewServer(http.NotFoundHandler())
	u := srv.URL + "/"
	srv.Close()
	return u
}

// mirrorServer serves files under /good/, corrupt copies under /bad/ and
// 404 under anything else, counting requests.
type mirrorServer struct {
	*httptest.Server
	requests atomic.Int64
}

func newMirrorServer(t testing.TB, files map[string][]byte) *mirrorServer {
	t.Helper()
	ms := &mirrorServer{}
	ms.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ms.requests.Add(1)
		dir, file, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
		b, ok := files[file]
		if !ok || (dir != "good" && dir != "bad") {
			http.NotFound(w, r)
			return
		}
		if dir == "bad" {
			b = append([]byte(nil), b...)
			b[len(b)/2] ^= 0xff
		}
		w.Header().Set("Content-Length", fmt.Sprint(len(b)))
		w.Write(b)
	}))
	t.Cleanup(ms.Close)
	return ms
}

func (ms *mirrorServer) mirror(dir string) string { return ms.URL + "/" + dir + "/" }

// wantErr fails unless err is a single-line error containing every part.
func wantErr(t testing.TB, err error, parts ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want one containing %q", parts)
	}
	msg := err.Error()
	if strings.Contains(msg, "\n") {
		t.Errorf("error spans several lines: %q", msg)
	}
	for _, p := range parts {
		if !strings.Contains(msg, p) {
			t.Errorf("error %q does not contain %q", msg, p)
		}
	}
}
