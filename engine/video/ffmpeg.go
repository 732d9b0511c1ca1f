package video

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// stderrMax bounds how much of ffmpeg's stderr is kept for error messages.
const stderrMax = 4 << 10

// exitGrace is how long a failed write waits for ffmpeg's exit status,
// which names the real cause (a signal, an encoder error) better than EPIPE.
const exitGrace = 5 * time.Second

// findFFmpeg resolves Options.FFmpeg to an executable.
func findFFmpeg(opt Options) (string, error) {
	name := opt.FFmpeg
	switch name {
	case "none":
		return "", fmt.Errorf("video: %s: FFmpeg is \"none\": %w", opt.Path, errNoFFmpeg)
	case "":
		name = "ffmpeg"
	}
	p, err := exec.LookPath(name)
	if err != nil {
		return "", fmt.Errorf("video: %s: %w; %w", opt.Path, err, errNoFFmpeg)
	}
	return p, nil
}

// ffmpegArgs builds the command line that turns raw RGBA on stdin into
// H.264 at opt.Path.
func ffmpegArgs(opt Options) []string {
	fps := strconv.Itoa(opt.FPS)
	vf := "scale=out_color_matrix=bt709:out_range=tv,format=yuv420p"
	if opt.Width%2 != 0 || opt.Height%2 != 0 {
		// yuv420p needs even sizes; pad with black rather than refuse
		// a window the user may have resized to any size.
		vf = "pad=ceil(iw/2)*2:ceil(ih/2)*2," + vf
	}
	args := []string{
		"-y", "-nostdin", "-loglevel", "error",
		"-f", "rawvideo", "-pix_fmt", "rgba",
		"-s", fmt.Sprintf("%dx%d", opt.Width, opt.Height), "-r", fps,
		"-i", "-",
		"-an", "-vf", vf,
		"-c:v", "libx264", "-pix_fmt", "yuv420p", "-preset", "veryfast", "-crf", "20",
		// A keyframe about every second bounds what a crash loses.
		"-g", fps,
		// Tag what the filter produced, or players guess BT.601 for small
		// frames and BT.709 for HD and shift the colours.
		"-colorspace", "bt709", "-color_primaries", "bt709", "-color_trc", "bt709",
		// Write each packet (for MP4: each fragment) through to the file
		// at once; ffmpeg otherwise holds up to 32 KiB that a crash loses.
		"-flush_packets", "1",
	}
	switch strings.ToLower(filepath.Ext(opt.Path)) {
	case ".mp4", ".mov":
		// Fragmented: a file whose ffmpeg was killed stays playable up
		// to the last fragment, where a plain MP4 would lack its moov.
		args = append(args, "-movflags", "+frag_keyframe+empty_moov+default_base_moof")
	}
	// "file:" stops ffmpeg reading a colon in the path as a protocol.
	return append(args, "file:"+opt.Path)
}

// ffmpegEncoder pipes frames into an ffmpeg child process.
type ffmpegEncoder struct {
	cmd    *exec.Cmd
	stdin  *os.File
	stderr *tailBuffer

	closing atomic.Bool   // set by finish: an exit from now on is expected
	exited  chan struct{} // closed when cmd.Wait returned
	waitErr error         // cmd.Wait's result; read after exited is closed
}

// startFFmpeg starts ffmpeg and a goroutine that reports, through onExit,
// an exit that finish did not ask for, so Frame stops at once even when no
// frame is being written.
func startFFmpeg(path string, opt Options, onExit func(error)) (*ffmpegEncoder, error) {
	// An os.Pipe rather than cmd.StdinPipe: Wait closes the latter, which
	// would race with the encoder's writes; this write end is ours alone.
	pr, pw, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("video: pipe for ffmpeg: %w", err)
	}
	e := &ffmpegEncoder{
		cmd:    exec.Command(path, ffmpegArgs(opt)...),
		stdin:  pw,
		stderr: &tailBuffer{max: stderrMax},
		exited: make(chan struct{}),
	}
	e.cmd.Stdin = pr
	e.cmd.Stderr = e.stderr
	detach(e.cmd)
	err = e.cmd.Start()
	pr.Close() // the child holds its own copy
	if err != nil {
		pw.Close()
		return nil, fmt.Errorf("video: starting ffmpeg: %w", err)
	}
	go func() {
		e.waitErr = e.cmd.Wait()
		close(e.exited)
		if !e.closing.Load() {
			onExit(e.exitError())
		}
	}()
	return e, nil
}

func (e *ffmpegEncoder) name() string { return EncoderFFmpeg }

func (e *ffmpegEncoder) process() *os.Process { return e.cmd.Process }

func (e *ffmpegEncoder) encode(rgba []byte) error {
	_, err := e.stdin.Write(rgba)
	if err == nil {
		return nil
	}
	// A write fails because ffmpeg died; its exit status says why.
	t := time.NewTimer(exitGrace)
	defer t.Stop()
	select {
	case <-e.exited:
		return e.exitError()
	case <-t.C:
		return fmt.Errorf("video: writing frame to ffmpeg: %w%s", err, e.stderr.suffix())
	}
}

// finish closes ffmpeg's input so that it writes the rest of the file, and
// waits for it to exit.
func (e *ffmpegEncoder) finish() error {
	e.closing.Store(true)
	cerr := e.stdin.Close()
	<-e.exited
	if e.waitErr != nil {
		return e.exitError()
	}
	if cerr != nil {
		return fmt.Errorf("video: closing ffmpeg input: %w", cerr)
	}
	return nil
}

// exitError describes ffmpeg's exit, with the tail of its stderr.
func (e *ffmpegEncoder) exitError() error {
	if e.waitErr == nil {
		return fmt.Errorf("video: ffmpeg exited before the recording was closed%s", e.stderr.suffix())
	}
	return fmt.Errorf("video: ffmpeg exited: %w%s", e.waitErr, e.stderr.suffix())
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	buf []byte
	max int
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - t.max; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	return len(p), nil
}

// suffix formats the kept stderr for appending to an error message.
func (t *tailBuffer) suffix() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := string(bytes.TrimSpace(t.buf))
	if s == "" {
		return ""
	}
	return "; ffmpeg said: " + s
}
