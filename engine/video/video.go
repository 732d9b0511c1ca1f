// Package video records frames into video files while the render loop runs.
//
// The render loop hands raw RGBA frames to a Recorder; Recorder.Frame only
// copies the frame into a pooled buffer and queues it, so a slow encoder
// costs dropped (and counted) frames instead of a stuttering window. A
// goroutine per Recorder does the encoding: H.264 through an ffmpeg child
// process for .mp4, .mkv and .mov, or a pure-Go MJPEG-in-AVI writer for .avi,
// which works on machines without ffmpeg.
//
// The package knows nothing about Ebitengine, so it can be tested headless.
package video

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
)

// Defaults and limits for Options.
const (
	DefaultFPS   = 60
	DefaultQueue = 8

	// MaxWidth and MaxHeight bound a rendered video: 8K UHD, the largest
	// frame H.264's highest levels carry.
	MaxWidth, MaxHeight = 7680, 4320

	maxFPS   = 240
	maxSide  = 16384   // beyond this no encoder here copes; it is a bug in the caller
	maxQueue = 256     // frames
	maxBytes = 4 << 30 // queue memory, Queue*W*H*4
)

// Options configures a Recorder.
type Options struct {
	// Path is the output file; its extension picks the container: .mp4 .mkv
	// .mov (H.264 through ffmpeg) or .avi (MJPEG, pure Go).
	Path string
	// Width and Height give the frame size: every frame is Width*Height*4
	// bytes of RGBA. Alpha is ignored (treated as opaque), so straight and
	// premultiplied frames both work. Odd sizes are padded to even ones with
	// black for H.264, whose yuv420p needs even sizes.
	Width, Height int
	// FPS is the frame rate written into the file; 0 means DefaultFPS.
	FPS int
	// Queue is how many frames may wait for the encoder, counting the one
	// being encoded; 0 means DefaultQueue. It bounds memory to
	// Queue*Width*Height*4 bytes.
	Queue int
	// FFmpeg is the path of ffmpeg; "" looks it up on PATH and "none" never
	// uses it (only .avi can then be written).
	FFmpeg string
}

// containers maps a file extension to whether it needs ffmpeg.
var containers = map[string]bool{".mp4": true, ".mkv": true, ".mov": true, ".avi": false}

// Encoder names, as Recorder.Encoder reports them.
const (
	EncoderFFmpeg = "ffmpeg h264"
	EncoderMJPEG  = "mjpeg avi"
)

// encoder turns frames into a file. encode and finish run on the
// Recorder's goroutine only (finish after the last encode).
type encoder interface {
	name() string
	encode(rgba []byte) error
	// finish completes the file; it runs even after encode failed, so that
	// what was written stays readable.
	finish() error
}

// Recorder takes frames from the render loop and encodes them on its own
// goroutine. Its methods are safe for concurrent use.
type Recorder struct {
	path      string
	frameSize int
	enc       encoder

	free  chan []byte // buffers ready for Frame; holds every buffer when idle
	queue chan []byte // frames waiting for the encoder
	done  chan struct{}

	frames  atomic.Int64
	dropped atomic.Int64
	failed  atomic.Bool

	mu      sync.Mutex // guards closed against Frame's send on queue
	closed  bool
	err     error // first encoder failure; guarded by mu
	sizeErr error // first wrong-sized frame; guarded by mu

	closeOnce sync.Once
	closeErr  error
}

// Open validates opt, creates the output file and starts the encoder.
// Nothing is started when it returns an error.
func Open(opt Options) (*Recorder, error) {
	return open(opt, nil)
}

// open is Open with a hook that lets tests wrap the encoder (to slow it
// down or make it fail) before the goroutine starts.
func open(opt Options, wrap func(encoder) encoder) (*Recorder, error) {
	opt, needFFmpeg, err := validate(opt)
	if err != nil {
		return nil, err
	}
	ffmpeg := ""
	if needFFmpeg {
		if ffmpeg, err = findFFmpeg(opt); err != nil {
			return nil, err
		}
	}
	// Creating the file here reports an unwritable path now, with the OS's
	// reason, rather than as an ffmpeg failure after the first frames.
	f, err := os.OpenFile(opt.Path, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, fmt.Errorf("video: creating output file: %w", err)
	}

	r := &Recorder{
		path:      opt.Path,
		frameSize: opt.Width * opt.Height * 4,
		free:      make(chan []byte, opt.Queue),
		queue:     make(chan []byte, opt.Queue),
		done:      make(chan struct{}),
	}
	if needFFmpeg {
		f.Close() // ffmpeg opens the path itself
		r.enc, err = startFFmpeg(ffmpeg, opt, r.fail)
	} else {
		r.enc, err = newAVI(f, opt)
	}
	if err != nil {
		if !needFFmpeg {
			f.Close()
		}
		os.Remove(opt.Path)
		return nil, err
	}
	if wrap != nil {
		r.enc = wrap(r.enc)
	}
	for range opt.Queue {
		buf := make([]byte, r.frameSize)
		// Touch every page now, or the first frames pay the page faults
		// inside Frame, in the render loop (several times the copy itself).
		for i := 0; i < len(buf); i += 4096 {
			buf[i] = 1
		}
		r.free <- buf
	}
	go r.run()
	return r, nil
}

// CheckPath reports whether a video can be written at path before any frame
// is made: a known container, and ffmpeg on PATH for the H.264 ones.
func CheckPath(path string) error {
	ext := strings.ToLower(filepath.Ext(path))
	needFFmpeg, ok := containers[ext]
	if !ok {
		return fmt.Errorf("%s: cannot write %q videos (supported: %s)", path, ext, strings.Join(supported(), " "))
	}
	if needFFmpeg {
		if _, err := exec.LookPath("ffmpeg"); err != nil {
			return fmt.Errorf("%s: %w", path, errNoFFmpeg)
		}
	}
	return nil
}

// validate fills in defaults and rejects options no encoder can honour.
func validate(opt Options) (Options, bool, error) {
	ext := strings.ToLower(filepath.Ext(opt.Path))
	needFFmpeg, ok := containers[ext]
	if !ok {
		return opt, false, fmt.Errorf("video: %q: unsupported extension %q (supported: %s)",
			opt.Path, ext, strings.Join(supported(), " "))
	}
	if opt.Width < 2 || opt.Height < 2 || opt.Width > maxSide || opt.Height > maxSide {
		return opt, false, fmt.Errorf("video: frame size %dx%d out of range (each side 2..%d)",
			opt.Width, opt.Height, maxSide)
	}
	if opt.FPS == 0 {
		opt.FPS = DefaultFPS
	}
	if opt.FPS < 1 || opt.FPS > maxFPS {
		return opt, false, fmt.Errorf("video: FPS %d out of range 1..%d", opt.FPS, maxFPS)
	}
	if opt.Queue == 0 {
		opt.Queue = DefaultQueue
	}
	if opt.Queue < 1 || opt.Queue > maxQueue {
		return opt, false, fmt.Errorf("video: Queue %d out of range 1..%d", opt.Queue, maxQueue)
	}
	if mem := int64(opt.Queue) * int64(opt.Width) * int64(opt.Height) * 4; mem > maxBytes {
		return opt, false, fmt.Errorf("video: queue of %d %dx%d frames needs %d MiB (limit %d MiB); lower Queue",
			opt.Queue, opt.Width, opt.Height, mem>>20, maxBytes>>20)
	}
	return opt, needFFmpeg, nil
}

// supported lists the known extensions, sorted, for error messages.
func supported() []string {
	exts := make([]string, 0, len(containers))
	for ext := range containers {
		exts = append(exts, ext)
	}
	sort.Strings(exts)
	return exts
}

// run is the encoder goroutine: it encodes queued frames until Close closes
// the queue. After a failure it keeps draining, so buffers return to the
// pool and every offered frame ends up counted as encoded or dropped.
func (r *Recorder) run() {
	defer close(r.done)
	for buf := range r.queue {
		if r.failed.Load() {
			r.dropped.Add(1)
			r.free <- buf
			continue
		}
		err := r.enc.encode(buf)
		r.free <- buf
		if err != nil {
			r.fail(err)
			r.dropped.Add(1)
			continue
		}
		r.frames.Add(1)
	}
}

// fail records the first failure; later ones are usually its consequences.
func (r *Recorder) fail(err error) {
	r.mu.Lock()
	if r.err == nil {
		r.err = err
	}
	r.mu.Unlock()
	r.failed.Store(true)
}

// Frame hands one frame over without blocking the render loop: it copies
// rgba into a free buffer from a small pool and queues it. When no buffer is
// free (the encoder is behind) the frame is dropped and counted. Frame
// returns false when the frame was dropped: the queue was full, rgba has the
// wrong size, the recorder failed or is closed.
func (r *Recorder) Frame(rgba []byte) bool {
	return r.frame(rgba, false)
}

// frame is Frame; with wait it blocks until a buffer is free instead of
// dropping, which benchmarks use to measure the encoder itself.
// FrameWait is Frame for offline rendering ("mlpviz render"): it waits for
// room in the queue instead of dropping, so every frame reaches the file.
// It returns false only after a failure.
func (r *Recorder) FrameWait(rgba []byte) bool { return r.frame(rgba, true) }

func (r *Recorder) frame(rgba []byte, wait bool) bool {
	if len(rgba) != r.frameSize {
		r.dropped.Add(1)
		r.mu.Lock()
		if r.sizeErr == nil {
			r.sizeErr = fmt.Errorf("video: frame of %d bytes dropped, want Width*Height*4 = %d",
				len(rgba), r.frameSize)
		}
		r.mu.Unlock()
		return false
	}
	if r.failed.Load() {
		r.dropped.Add(1)
		return false
	}
	var buf []byte
	if wait {
		buf = <-r.free
	} else {
		select {
		case buf = <-r.free:
		default:
			r.dropped.Add(1)
			return false
		}
	}
	copy(buf, rgba)
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		r.free <- buf
		r.dropped.Add(1)
		return false
	}
	r.queue <- buf // never blocks: queue holds as many as there are buffers
	r.mu.Unlock()
	return true
}

// Frames reports how many frames were encoded (for ffmpeg: written to it).
func (r *Recorder) Frames() int { return int(r.frames.Load()) }

// Dropped reports how many frames were offered but not encoded. After
// Close, Frames()+Dropped() equals the number of Frame calls.
func (r *Recorder) Dropped() int { return int(r.dropped.Load()) }

// Err reports the first encoder failure (such as ffmpeg dying), or else the
// first frame dropped for its wrong size; nil if neither happened.
func (r *Recorder) Err() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err != nil {
		return r.err
	}
	return r.sizeErr
}

// Close encodes the frames still queued, finishes the file and waits for
// ffmpeg. It returns what Err returns afterwards, including a failure to
// finish the file. Later calls return the same.
func (r *Recorder) Close() error {
	r.closeOnce.Do(func() {
		r.mu.Lock()
		r.closed = true
		close(r.queue)
		r.mu.Unlock()
		<-r.done
		if err := r.enc.finish(); err != nil {
			r.fail(err)
		}
		r.closeErr = r.Err()
	})
	return r.closeErr
}

// Path returns the output file.
func (r *Recorder) Path() string { return r.path }

// Encoder names the encoder: EncoderFFmpeg or EncoderMJPEG.
func (r *Recorder) Encoder() string { return r.enc.name() }

// process returns the ffmpeg child, for tests that kill it; nil without one.
func (r *Recorder) process() *os.Process {
	if e, ok := r.enc.(interface{ process() *os.Process }); ok {
		return e.process()
	}
	return nil
}

// errNoFFmpeg explains what to do when a container needs ffmpeg.
var errNoFFmpeg = errors.New("ffmpeg is needed for .mp4, .mkv and .mov; install it, set Options.FFmpeg, or record to .avi (MJPEG, pure Go)")
