package cuda

import (
	"errors"
	"unsafe"

	"github.com/mlpviz/mlpviz/trainer/backend"
	"github.com/mlpviz/mlpviz/trainer/backend/cuda/driver"
)

// placeholder is the address handed out after a failure: no kernel runs
// once the backend has failed, so nothing reads it, and the layers above
// can still slice the tensor they asked for.
const placeholder = 1 << 47

// alloc returns n zeroed values of T on the device. cuMemAlloc is not
// ordered on the stream, but fresh memory has no queued users; the zeroing
// is queued like everything else.
func alloc[T backend.Elem](b *Backend, n int) backend.TensorOf[T] {
	if n <= 0 {
		return backend.TensorOf[T]{}
	}
	var v T
	bytes := n * int(unsafe.Sizeof(v))
	var p driver.DevicePtr
	b.do(func() error {
		var err error
		if p, err = b.drv.Alloc(bytes); err != nil {
			return err
		}
		b.allocs[uintptr(p)] = bytes
		return b.drv.Fill32(p, 0, bytes/4, b.stream)
	})
	if p == 0 {
		return backend.OnDevice[T](placeholder, n)
	}
	return backend.OnDevice[T](uintptr(p), n)
}

// Alloc implements backend.Backend.
func (b *Backend) Alloc(n int) backend.Tensor { return alloc[float32](b, n) }

// AllocInt implements backend.Backend.
func (b *Backend) AllocInt(n int) backend.IntTensor { return alloc[int32](b, n) }

// AllocFloat64 implements backend.Backend.
func (b *Backend) AllocFloat64(n int) backend.Float64Tensor { return alloc[float64](b, n) }

// Free implements backend.Backend. cuMemFree does not wait for the stream,
// so Free does first; layers free only when a larger batch makes them
// reallocate, so the wait is rare.
func (b *Backend) Free(t backend.Storage) {
	addr := t.Device()
	if _, ok := b.allocs[addr]; !ok {
		return // a Slice, the zero tensor or a placeholder
	}
	delete(b.allocs, addr)
	b.do(func() error {
		if err := b.drv.Synchronize(b.stream); err != nil {
			return err
		}
		return b.drv.Free(driver.DevicePtr(addr))
	})
}

// Upload implements backend.Backend.
func (b *Backend) Upload(dst backend.Tensor, src []float32) {
	checkLen("Upload's source", len(src), dst.Len())
	upload(b, dst, src)
}

// UploadInt implements backend.Backend.
func (b *Backend) UploadInt(dst backend.IntTensor, src []int32) {
	checkLen("UploadInt's source", len(src), dst.Len())
	upload(b, dst, src)
}

func upload[T backend.Elem](b *Backend, dst backend.TensorOf[T], src []T) {
	if len(src) == 0 {
		return
	}
	to := ptr(dst)
	b.do(func() error {
		return b.staging.copy(b.drv, b.stream, to, unsafe.Pointer(&src[0]), dst.Bytes())
	})
}

// Download implements backend.Backend.
func (b *Backend) Download(dst []float32, src backend.Tensor) {
	checkLen("Download's destination", len(dst), src.Len())
	download(b, dst, src)
}

// DownloadFloat64 implements backend.Backend.
func (b *Backend) DownloadFloat64(dst []float64, src backend.Float64Tensor) {
	checkLen("DownloadFloat64's destination", len(dst), src.Len())
	download(b, dst, src)
}

// download copies src to dst after the queued work. A copy into pageable
// memory returns when it is done; the synchronisation after it surfaces a
// failure of any kernel before it, which a copy does not report.
func download[T float32 | float64](b *Backend, dst []T, src backend.TensorOf[T]) {
	if len(dst) == 0 {
		return
	}
	from := ptr(src)
	b.do(func() error {
		if err := driver.CopyToHost(b.drv, dst, from, b.stream); err != nil {
			return err
		}
		return b.drv.Synchronize(b.stream)
	})
	if b.err != nil {
		nan(dst)
	}
}

// Zero implements backend.Backend.
func (b *Backend) Zero(t backend.Tensor) {
	if t.Len() == 0 {
		return
	}
	p := ptr(t)
	b.do(func() error { return b.drv.Fill32(p, 0, t.Len(), b.stream) })
}

// staging is a ring of page-locked host buffers that uploads go through:
// from ordinary (pageable) memory the driver may wait for the stream before
// it copies, which would make every batch upload wait for the previous
// step; from page-locked memory the copy is queued like a kernel. Each slot
// has an event marking the end of its last copy, so a slot is refilled
// only once the GPU has read it, which with four slots and two uploads a
// step is long done.
type staging struct {
	slots [4]stagingSlot
	next  int
}

type stagingSlot struct {
	host  unsafe.Pointer // page-locked, outside Go's heap
	bytes int
	done  driver.Event
}

// maxStaged bounds a slot: larger uploads (only the weights of a big layer,
// once) take the driver's own staging.
const maxStaged = 64 << 20

func newStaging(d *driver.Driver) (staging, error) {
	var s staging
	for i := range s.slots {
		e, err := d.NewEvent()
		if err != nil {
			return s, errors.Join(err, s.close(d))
		}
		s.slots[i].done = e
	}
	return s, nil
}

// copy queues a copy of bytes from Go memory at src to dst; src may be
// reused when it returns.
func (s *staging) copy(d *driver.Driver, stream driver.Stream, dst driver.DevicePtr, src unsafe.Pointer, bytes int) error {
	if bytes > maxStaged {
		return driver.CopyToDevice(d, dst, unsafe.Slice((*byte)(src), bytes), stream)
	}
	slot := &s.slots[s.next]
	s.next = (s.next + 1) % len(s.slots)
	if err := d.Wait(slot.done); err != nil {
		return err
	}
	if slot.bytes < bytes {
		if slot.host != nil {
			if err := d.FreeHost(slot.host); err != nil {
				return err
			}
			slot.host, slot.bytes = nil, 0
		}
		size := max(bytes, 1<<20)
		h, err := d.HostAlloc(size)
		if err != nil {
			return err
		}
		slot.host, slot.bytes = h, size
	}
	copy(unsafe.Slice((*byte)(slot.host), bytes), unsafe.Slice((*byte)(src), bytes))
	if err := d.CopyToDeviceFrom(dst, slot.host, bytes, stream); err != nil {
		return err
	}
	return d.Record(slot.done, stream)
}

func (s *staging) close(d *driver.Driver) error {
	var errs []error
	for i := range s.slots {
		slot := &s.slots[i]
		if slot.host != nil {
			errs = append(errs, d.FreeHost(slot.host))
			slot.host = nil
		}
		if slot.done != 0 {
			errs = append(errs, d.DestroyEvent(slot.done))
			slot.done = 0
		}
	}
	return errors.Join(errs...)
}
