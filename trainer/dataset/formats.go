package dataset

import (
	"archive/tar"
	"bufio"
	"compress/flate"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
)

// IDX magic numbers: two zero bytes, type 0x08 (unsigned byte), then the
// number of dimensions.
const (
	idxImagesMagic = 0x00000803
	idxLabelsMagic = 0x00000801
)

// maxIDXBytes bounds the allocation a header may ask for, so a damaged
// header fails cleanly instead of exhausting memory; MNIST's largest file
// holds 47 MB.
const maxIDXBytes = 1 << 28

// readIDXSplit reads one gzip'd IDX image file and its label file.
func readIDXSplit(imagesPath, labelsPath string, shape [3]int, classes int) (Split, error) {
	dims, pixels, err := readIDX(imagesPath, idxImagesMagic)
	if err != nil {
		return Split{}, err
	}
	if dims[1] != shape[1] || dims[2] != shape[2] {
		return Split{}, fmt.Errorf("%s holds %dx%d images, want %dx%d",
			imagesPath, dims[1], dims[2], shape[1], shape[2])
	}
	ldims, labels, err := readIDX(labelsPath, idxLabelsMagic)
	if err != nil {
		return Split{}, err
	}
	if dims[0] != ldims[0] {
		return Split{}, fmt.Errorf("%s: %s holds %d images but %s holds %d labels", filepath.Dir(imagesPath),
			filepath.Base(imagesPath), dims[0], filepath.Base(labelsPath), ldims[0])
	}
	if err := checkLabels(labels, classes); err != nil {
		return Split{}, fmt.Errorf("%s: %w", labelsPath, err)
	}
	return Split{Pixels: pixels, Labels: labels, N: dims[0]}, nil
}

// checkLabels rejects labels the loss function could not index.
func checkLabels(labels []uint8, classes int) error {
	for i, l := range labels {
		if int(l) >= classes {
			return fmt.Errorf("label %d of record %d is not below the %d classes", l, i, classes)
		}
	}
	return nil
}

// readIDX reads a gzip'd IDX file of unsigned bytes whose magic number must
// be magic, returning its dimensions and data.
func readIDX(p string, magic uint32) ([]int, []byte, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	zr, err := gzip.NewReader(bufio.NewReader(f))
	if err != nil {
		return nil, nil, fmt.Errorf("%s is not a valid gzip file: %w", p, err)
	}
	var word [4]byte
	if _, err := io.ReadFull(zr, word[:]); err != nil {
		return nil, nil, readError(p, "IDX header", err)
	}
	if got := binary.BigEndian.Uint32(word[:]); got != magic {
		return nil, nil, fmt.Errorf("%s: wrong IDX magic number 0x%08x, want 0x%08x", p, got, magic)
	}
	dims := make([]int, magic&0xff)
	size := 1
	for i := range dims {
		if _, err := io.ReadFull(zr, word[:]); err != nil {
			return nil, nil, readError(p, "IDX header", err)
		}
		dims[i] = int(binary.BigEndian.Uint32(word[:]))
		if dims[i] == 0 || size > maxIDXBytes/dims[i] {
			return nil, nil, fmt.Errorf("%s: implausible IDX dimensions %v", p, dims[:i+1])
		}
		size *= dims[i]
	}
	data := make([]byte, size)
	if _, err := io.ReadFull(zr, data); err != nil {
		return nil, nil, readError(p, fmt.Sprintf("%d bytes of data for IDX dimensions %v", size, dims), err)
	}
	// Reading on to the end makes gzip verify its checksum.
	var extra [1]byte
	n, err := io.ReadFull(zr, extra[:])
	if n > 0 {
		return nil, nil, fmt.Errorf("%s: unexpected data after %d bytes for IDX dimensions %v", p, size, dims)
	}
	if err != io.EOF {
		return nil, nil, readError(p, "end of file", err)
	}
	return dims, data, nil
}

// readError names the file and tells truncation apart from corruption,
// since the fixes differ (re-download versus check the source).
func readError(p, what string, err error) error {
	var corrupt flate.CorruptInputError
	switch {
	case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF):
		return fmt.Errorf("%s is truncated: reading %s: %w", p, what, io.ErrUnexpectedEOF)
	case errors.As(err, &corrupt) || errors.Is(err, gzip.ErrChecksum) || errors.Is(err, gzip.ErrHeader):
		return fmt.Errorf("%s has corrupt gzip data: %w", p, err)
	}
	return fmt.Errorf("read %s: %w", p, err)
}

// CIFAR-10 binary layout: each record is a label byte and a 32x32 image in
// R, G and B planes.
const (
	cifarImageBytes   = 3 * 32 * 32
	cifarRecordBytes  = 1 + cifarImageBytes
	cifarBatchRecords = 10000
	cifarTrainBatches = 5
)

// cifarMembers maps the base name of each batch file to its slot: 0..4 are
// the training batches in order, 5 is the test batch.
var cifarMembers = map[string]int{
	"data_batch_1.bin": 0,
	"data_batch_2.bin": 1,
	"data_batch_3.bin": 2,
	"data_batch_4.bin": 3,
	"data_batch_5.bin": 4,
	"test_batch.bin":   5,
}

// readCIFAR reads the training and test sets straight out of the official
// binary tarball, without extracting it to disk.
func readCIFAR(p string, records, classes int) (train, test Split, err error) {
	f, err := os.Open(p)
	if err != nil {
		return train, test, err
	}
	defer f.Close()
	zr, err := gzip.NewReader(bufio.NewReader(f))
	if err != nil {
		return train, test, fmt.Errorf("%s is not a valid gzip file: %w", p, err)
	}
	train = Split{
		Pixels: make([]uint8, cifarTrainBatches*records*cifarImageBytes),
		Labels: make([]uint8, cifarTrainBatches*records),
		N:      cifarTrainBatches * records,
	}
	test = Split{
		Pixels: make([]uint8, records*cifarImageBytes),
		Labels: make([]uint8, records),
		N:      records,
	}
	var seen [cifarTrainBatches + 1]bool
	tr := tar.NewReader(zr)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return train, test, readError(p, "tar header", err)
		}
		slot, ok := cifarMembers[path.Base(hdr.Name)]
		if !ok || !hdr.FileInfo().Mode().IsRegular() {
			continue
		}
		if seen[slot] {
			return train, test, fmt.Errorf("%s: %s appears twice", p, hdr.Name)
		}
		seen[slot] = true
		want := int64(records) * cifarRecordBytes
		if hdr.Size%cifarRecordBytes != 0 || hdr.Size != want {
			return train, test, fmt.Errorf("%s: member %s is %d bytes; want %d records of %d bytes (%d bytes)",
				p, hdr.Name, hdr.Size, records, cifarRecordBytes, want)
		}
		dst, base := &test, 0
		if slot < cifarTrainBatches {
			dst, base = &train, slot*records
		}
		for i := base; i < base+records; i++ {
			if _, err := io.ReadFull(tr, dst.Labels[i:i+1]); err != nil {
				return train, test, readError(p, hdr.Name, err)
			}
			if _, err := io.ReadFull(tr, dst.Pixels[i*cifarImageBytes:(i+1)*cifarImageBytes]); err != nil {
				return train, test, readError(p, hdr.Name, err)
			}
		}
	}
	// Drain the stream so gzip verifies its checksum.
	if _, err := io.Copy(io.Discard, zr); err != nil {
		return train, test, readError(p, "end of file", err)
	}
	var absent []string
	for name, slot := range cifarMembers {
		if !seen[slot] {
			absent = append(absent, "cifar-10-batches-bin/"+name)
		}
	}
	if len(absent) > 0 {
		slices.Sort(absent)
		return train, test, fmt.Errorf("%s is missing %s", p, strings.Join(absent, ", "))
	}
	if err := checkLabels(train.Labels, classes); err != nil {
		return train, test, fmt.Errorf("%s: training batches: %w", p, err)
	}
	if err := checkLabels(test.Labels, classes); err != nil {
		return train, test, fmt.Errorf("%s: test batch: %w", p, err)
	}
	return train, test, nil
}
