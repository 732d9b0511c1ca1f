package video

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// maxMAE is the mean absolute error per channel, out of 255, allowed
// between a source frame and the same frame read back from the file:
// yuv420p with crf 20, or JPEG at quality 85, stays well below it on the
// smooth test pattern.
const maxMAE = 6.0

// codeBits is how many bits of the frame number pattern draws as blocks.
const (
	codeBits  = 8
	codeBlock = 16
)

// pattern draws frame n: colour gradients that move with n, and n in binary
// as black or white blocks along the top, so a frame read back from a file
// says which frame it is.
func pattern(w, h, n int) []byte {
	p := make([]byte, w*h*4)
	tri := func(v int) byte { // triangle wave: smooth, no wrap-around edge
		v %= 510
		if v > 255 {
			v = 510 - v
		}
		return byte(v)
	}
	for y := range h {
		for x := range w {
			i := (y*w + x) * 4
			p[i] = tri(x*2 + 6*n)
			p[i+1] = tri(y*2 + 3*n)
			p[i+2] = tri(x + y + 9*n)
			p[i+3] = 255
		}
	}
	for bit := range codeBits {
		v := byte(0)
		if n>>bit&1 != 0 {
			v = 255
		}
		for y := range codeBlock {
			for x := bit * codeBlock; x < (bit+1)*codeBlock && x < w; x++ {
				i := (y*w + x) * 4
				p[i], p[i+1], p[i+2] = v, v, v
			}
		}
	}
	return p
}

// frameNumber reads back the number pattern drew into an image.
func frameNumber(img image.Image) int {
	n := 0
	for bit := range codeBits {
		r, g, b, _ := img.At(bit*codeBlock+codeBlock/2, codeBlock/2).RGBA()
		if (r+g+b)/3 > 0x8000 {
			n |= 1 << bit
		}
	}
	return n
}

// meanAbsError compares img with RGBA source pixels, per channel out of 255,
// and returns the worst channel.
func meanAbsError(img image.Image, src []byte, w, h int) float64 {
	var sum [3]float64
	for y := range h {
		for x := range w {
			r, g, b, _ := img.At(x, y).RGBA()
			i := (y*w + x) * 4
			for c, v := range [3]uint32{r, g, b} {
				d := float64(v>>8) - float64(src[i+c])
				if d < 0 {
					d = -d
				}
				sum[c] += d
			}
		}
	}
	return max(sum[0], sum[1], sum[2]) / float64(w*h)
}

func needFFmpeg(t testing.TB) {
	t.Helper()
	for _, tool := range []string{"ffmpeg", "ffprobe"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not on PATH: %v", tool, err)
		}
	}
}

type probeResult struct {
	Codec  string
	Width  int
	Height int
	Frames int
}

// probe asks ffprobe what the first video stream of path holds, counting
// its frames by decoding them.
func probe(t *testing.T, path string) probeResult {
	t.Helper()
	out, err := exec.Command("ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0",
		"-show_entries", "stream=codec_name,width,height,nb_read_frames", "-of", "json", path).CombinedOutput()
	if err != nil {
		t.Fatalf("ffprobe %s: %v\n%s", path, err, out)
	}
	var res struct {
		Streams []struct {
			CodecName    string `json:"codec_name"`
			Width        int    `json:"width"`
			Height       int    `json:"height"`
			NbReadFrames string `json:"nb_read_frames"`
		} `json:"streams"`
	}
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("ffprobe output: %v\n%s", err, out)
	}
	if len(res.Streams) != 1 {
		t.Fatalf("ffprobe found %d video streams in %s, want 1\n%s", len(res.Streams), path, out)
	}
	s := res.Streams[0]
	n, err := strconv.Atoi(s.NbReadFrames)
	if err != nil {
		t.Fatalf("ffprobe nb_read_frames %q: %v", s.NbReadFrames, err)
	}
	return probeResult{Codec: s.CodecName, Width: s.Width, Height: s.Height, Frames: n}
}

// extract decodes frame n of path through ffmpeg into a PNG and reads it.
func extract(t *testing.T, path string, n int) image.Image {
	t.Helper()
	pngPath := filepath.Join(t.TempDir(), "frame.png")
	out, err := exec.Command("ffmpeg", "-v", "error", "-i", path,
		"-vf", fmt.Sprintf(`select=eq(n\,%d)`, n), "-frames:v", "1", pngPath).CombinedOutput()
	if err != nil {
		t.Fatalf("ffmpeg extracting frame %d: %v\n%s", n, err, out)
	}
	f, err := os.Open(pngPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("decoding extracted frame: %v", err)
	}
	return img
}

// record offers frames 0..n-1 of pattern and closes r; every frame must be
// accepted.
func record(t *testing.T, r *Recorder, w, h, n int) {
	t.Helper()
	for i := range n {
		if !r.Frame(pattern(w, h, i)) {
			t.Fatalf("Frame(%d) dropped (dropped %d, err %v)", i, r.Dropped(), r.Err())
		}
	}
	if err := r.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if r.Frames() != n || r.Dropped() != 0 {
		t.Fatalf("Frames %d, Dropped %d; want %d, 0", r.Frames(), r.Dropped(), n)
	}
}

// checkFile probes path and compares its middle frame with the source.
func checkFile(t *testing.T, path, codec string, w, h, n int) {
	t.Helper()
	got := probe(t, path)
	t.Logf("ffprobe %s: %+v", filepath.Base(path), got)
	want := probeResult{Codec: codec, Width: w, Height: h, Frames: n}
	if got != want {
		t.Fatalf("ffprobe: got %+v, want %+v", got, want)
	}
	mid := n / 2
	img := extract(t, path, mid)
	if b := img.Bounds(); b.Dx() != w || b.Dy() != h {
		t.Fatalf("extracted frame is %v, want %dx%d", b, w, h)
	}
	if num := frameNumber(img); num != mid {
		t.Fatalf("extracted frame %d shows number %d", mid, num)
	}
	mae := meanAbsError(img, pattern(w, h, mid), w, h)
	t.Logf("frame %d: mean absolute error %.2f/255 (worst channel; limit %.0f)", mid, mae, maxMAE)
	if mae >= maxMAE {
		t.Fatalf("frame %d: mean absolute error %.2f/255, want < %.0f", mid, mae, maxMAE)
	}
}

func TestEncodeMP4(t *testing.T) {
	needFFmpeg(t)
	const w, h, n = 320, 240, 45
	path := filepath.Join(t.TempDir(), "out.mp4")
	r, err := Open(Options{Path: path, Width: w, Height: h, FPS: 30, Queue: 64})
	if err != nil {
		t.Fatal(err)
	}
	if r.Encoder() != EncoderFFmpeg || r.Path() != path {
		t.Fatalf("Encoder %q, Path %q", r.Encoder(), r.Path())
	}
	record(t, r, w, h, n)
	checkFile(t, path, "h264", w, h, n)
}

func TestEncodeMKV(t *testing.T) {
	needFFmpeg(t)
	const w, h, n = 160, 120, 12
	path := filepath.Join(t.TempDir(), "out.MKV") // extension case must not matter
	r, err := Open(Options{Path: path, Width: w, Height: h, Queue: 16})
	if err != nil {
		t.Fatal(err)
	}
	record(t, r, w, h, n)
	if got := probe(t, path); got != (probeResult{"h264", w, h, n}) {
		t.Fatalf("ffprobe: %+v", got)
	}
}

func TestEncodeAVI(t *testing.T) {
	needFFmpeg(t) // to read the file back; writing it needs no ffmpeg
	const w, h, n = 320, 240, 45
	path := filepath.Join(t.TempDir(), "out.avi")
	r, err := Open(Options{Path: path, Width: w, Height: h, FPS: 30, Queue: 64, FFmpeg: "none"})
	if err != nil {
		t.Fatal(err)
	}
	if r.Encoder() != EncoderMJPEG {
		t.Fatalf("Encoder %q, want %q", r.Encoder(), EncoderMJPEG)
	}
	record(t, r, w, h, n)
	checkFile(t, path, "mjpeg", w, h, n)
	out, err := exec.Command("ffprobe", "-v", "error", "-select_streams", "v:0",
		"-show_entries", "stream=r_frame_rate", "-of", "csv=p=0", path).Output()
	if err != nil || strings.TrimSpace(string(out)) != "30/1" {
		t.Fatalf("frame rate %q (%v), want 30/1", out, err)
	}
}

func TestOddSizePadded(t *testing.T) {
	needFFmpeg(t)
	const w, h, n = 161, 97, 5
	for _, ext := range []string{".mp4", ".avi"} {
		path := filepath.Join(t.TempDir(), "odd"+ext)
		r, err := Open(Options{Path: path, Width: w, Height: h, Queue: 8})
		if err != nil {
			t.Fatal(err)
		}
		record(t, r, w, h, n)
		got := probe(t, path)
		want := probeResult{"h264", w + 1, h + 1, n} // padded to even
		if ext == ".avi" {
			want = probeResult{"mjpeg", w, h, n} // JPEG takes odd sizes
		}
		if got != want {
			t.Fatalf("%s: ffprobe %+v, want %+v", ext, got, want)
		}
	}
}

// slowEncoder delays every frame, like an encoder that cannot keep up.
type slowEncoder struct {
	encoder
	delay time.Duration
}

func (s slowEncoder) encode(rgba []byte) error {
	time.Sleep(s.delay)
	return s.encoder.encode(rgba)
}

func TestDropSlowEncoder(t *testing.T) {
	needFFmpeg(t)
	const w, h, offered = 64, 48, 40
	path := filepath.Join(t.TempDir(), "slow.avi")
	r, err := open(Options{Path: path, Width: w, Height: h, Queue: 2, FFmpeg: "none"},
		func(e encoder) encoder { return slowEncoder{e, 5 * time.Millisecond} })
	if err != nil {
		t.Fatal(err)
	}
	frame := pattern(w, h, 1)
	accepted := 0
	for range offered {
		if r.Frame(frame) {
			accepted++
		}
		time.Sleep(time.Millisecond) // a 1000 fps render loop against a 200 fps encoder
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	t.Logf("offered %d, accepted %d, encoded %d, dropped %d", offered, accepted, r.Frames(), r.Dropped())
	if r.Dropped() == 0 || r.Frames()+r.Dropped() != offered || r.Frames() != accepted {
		t.Fatalf("encoded %d + dropped %d, accepted %d; want drops and a sum of %d",
			r.Frames(), r.Dropped(), accepted, offered)
	}
	if got := probe(t, path).Frames; got != r.Frames() {
		t.Fatalf("file holds %d frames, Frames() says %d", got, r.Frames())
	}
}

func TestDropFFmpegBurst(t *testing.T) {
	needFFmpeg(t)
	const w, h, offered = 640, 480, 120
	path := filepath.Join(t.TempDir(), "burst.mp4")
	r, err := Open(Options{Path: path, Width: w, Height: h, Queue: 2})
	if err != nil {
		t.Fatal(err)
	}
	frames := [][]byte{pattern(w, h, 0), pattern(w, h, 1)}
	for i := range offered {
		r.Frame(frames[i%2])
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	t.Logf("offered %d, encoded %d, dropped %d", offered, r.Frames(), r.Dropped())
	if r.Dropped() == 0 || r.Frames()+r.Dropped() != offered {
		t.Fatalf("encoded %d + dropped %d; want drops and a sum of %d", r.Frames(), r.Dropped(), offered)
	}
	if got := probe(t, path).Frames; got != r.Frames() {
		t.Fatalf("file holds %d frames, Frames() says %d", got, r.Frames())
	}
}

func TestKillFFmpeg(t *testing.T) {
	needFFmpeg(t)
	const w, h, sent = 320, 240, 60
	path := filepath.Join(t.TempDir(), "killed.mp4")
	// At 10 fps a keyframe, and so a fragment, comes every 10 frames.
	r, err := Open(Options{Path: path, Width: w, Height: h, FPS: 10, Queue: 64})
	if err != nil {
		t.Fatal(err)
	}
	for i := range sent {
		if !r.Frame(pattern(w, h, i)) {
			t.Fatalf("Frame(%d) dropped before the kill", i)
		}
	}
	// Wait until ffmpeg has written a whole fragment to the file.
	deadline := time.Now().Add(10 * time.Second)
	for {
		data, _ := os.ReadFile(path)
		if r.Frames() == sent && bytes.Count(data, []byte("moof")) >= 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no fragment after %d frames (file %d bytes, written %d)", sent, len(data), r.Frames())
		}
		time.Sleep(20 * time.Millisecond)
	}
	p := r.process()
	if p == nil {
		t.Fatal("no ffmpeg process")
	}
	if err := p.Kill(); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	frame := pattern(w, h, 0)
	for r.Frame(frame) {
		if time.Since(start) > 5*time.Second {
			t.Fatal("Frame still accepts frames 5 s after ffmpeg was killed")
		}
		time.Sleep(time.Millisecond)
	}
	t.Logf("Frame returned false %v after the kill; Err: %v", time.Since(start).Round(time.Millisecond), r.Err())
	err = r.Close()
	if err == nil || !strings.Contains(err.Error(), "ffmpeg exited") || !strings.Contains(err.Error(), "killed") {
		t.Fatalf("Close: %v; want an error saying ffmpeg was killed", err)
	}
	if err2 := r.Close(); err2 != err {
		t.Fatalf("second Close: %v, want %v", err2, err)
	}
	got := probe(t, path)
	t.Logf("partial file: %+v", got)
	if got.Codec != "h264" || got.Frames == 0 {
		t.Fatalf("partial file unreadable: %+v", got)
	}
}

// TestFFmpegFails runs a stand-in for ffmpeg that fails at once, as a build
// without libx264 does: the failure and ffmpeg's message must reach Close.
func TestFFmpegFails(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("needs a shell script")
	}
	dir := t.TempDir()
	fake := filepath.Join(dir, "ffmpeg")
	script := "#!/bin/sh\necho \"Unknown encoder 'libx264'\" >&2\nexit 1\n"
	if err := os.WriteFile(fake, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	r, err := Open(Options{Path: filepath.Join(dir, "x.mp4"), Width: 64, Height: 48, FFmpeg: fake})
	if err != nil {
		t.Fatal(err)
	}
	frame := pattern(64, 48, 0)
	deadline := time.Now().Add(5 * time.Second)
	for r.Frame(frame) {
		if time.Now().After(deadline) {
			t.Fatal("Frame still accepts frames 5 s after ffmpeg failed")
		}
		time.Sleep(time.Millisecond)
	}
	err = r.Close()
	t.Logf("Close: %v", err)
	if err == nil || !strings.Contains(err.Error(), "exit status 1") || !strings.Contains(err.Error(), "Unknown encoder") {
		t.Fatalf("Close: %v; want ffmpeg's exit status and message", err)
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	notDir := filepath.Join(dir, "file")
	if err := os.WriteFile(notDir, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	ok := Options{Path: filepath.Join(dir, "ok.avi"), Width: 64, Height: 48, FFmpeg: "none"}
	with := func(f func(*Options)) Options { o := ok; f(&o); return o }
	cases := []struct {
		name string
		opt  Options
		want []string // substrings of the error
	}{
		{"extension", with(func(o *Options) { o.Path = filepath.Join(dir, "x.webm") }),
			[]string{`".webm"`, ".avi .mkv .mov .mp4"}},
		{"no extension", with(func(o *Options) { o.Path = filepath.Join(dir, "x") }), []string{"supported"}},
		{"zero size", with(func(o *Options) { o.Width, o.Height = 0, 0 }), []string{"0x0"}},
		{"tiny", with(func(o *Options) { o.Width = 1 }), []string{"1x48"}},
		{"negative", with(func(o *Options) { o.Height = -4 }), []string{"64x-4"}},
		{"absurd", with(func(o *Options) { o.Width = 1 << 20 }), []string{"out of range"}},
		{"fps", with(func(o *Options) { o.FPS = 241 }), []string{"FPS 241"}},
		{"negative fps", with(func(o *Options) { o.FPS = -1 }), []string{"FPS -1"}},
		{"queue", with(func(o *Options) { o.Queue = -1 }), []string{"Queue -1"}},
		{"queue memory", with(func(o *Options) { o.Width, o.Height, o.Queue = 16384, 16384, 8 }),
			[]string{"lower Queue"}},
		{"parent is a file", with(func(o *Options) { o.Path = filepath.Join(notDir, "x.avi") }),
			[]string{notDir, "not a directory"}},
		{"parent missing", with(func(o *Options) { o.Path = filepath.Join(dir, "missing", "x.avi") }),
			[]string{"missing", "no such file"}},
		{"ffmpeg none", with(func(o *Options) { o.Path = filepath.Join(dir, "x.mp4") }),
			[]string{"ffmpeg is needed", ".avi"}},
		{"ffmpeg missing", with(func(o *Options) {
			o.Path, o.FFmpeg = filepath.Join(dir, "x.mov"), filepath.Join(dir, "no-ffmpeg")
		}), []string{"no-ffmpeg", "ffmpeg is needed", ".avi"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r, err := Open(c.opt)
			if err == nil {
				r.Close()
				t.Fatalf("Open(%+v) succeeded", c.opt)
			}
			for _, s := range c.want {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not mention %q", err, s)
				}
			}
			if _, serr := os.Stat(c.opt.Path); serr == nil {
				t.Errorf("Open failed but left %s behind", c.opt.Path)
			}
		})
	}
}

// discardEncoder drops every frame but finishes the real file, so tests of
// Frame's own cost do not wait for an encoder.
type discardEncoder struct{ encoder }

func (discardEncoder) encode([]byte) error { return nil }

func TestFrameNoAlloc(t *testing.T) {
	const w, h = 320, 240
	r, err := open(Options{Path: filepath.Join(t.TempDir(), "a.avi"), Width: w, Height: h, FFmpeg: "none"},
		func(e encoder) encoder { return discardEncoder{e} })
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	frame := pattern(w, h, 0)
	short := frame[:10]
	r.Frame(short) // the first wrong size allocates its error
	if a := testing.AllocsPerRun(200, func() { r.Frame(frame) }); a != 0 {
		t.Errorf("Frame: %v allocations per call, want 0", a)
	}
	if a := testing.AllocsPerRun(50, func() { r.Frame(short) }); a != 0 {
		t.Errorf("Frame with a wrong size: %v allocations per call, want 0", a)
	}
}

func TestWrongSizeAndClosed(t *testing.T) {
	const w, h = 64, 48
	r, err := Open(Options{Path: filepath.Join(t.TempDir(), "a.avi"), Width: w, Height: h, FFmpeg: "none"})
	if err != nil {
		t.Fatal(err)
	}
	if r.Frame(nil) || r.Frame(make([]byte, w*h*4+4)) {
		t.Fatal("Frame accepted a wrong-sized frame")
	}
	if !r.Frame(pattern(w, h, 0)) {
		t.Fatal("Frame refused a good frame after a bad one")
	}
	if err := r.Err(); err == nil || !strings.Contains(err.Error(), "0 bytes") {
		t.Fatalf("Err: %v, want the wrong size", err)
	}
	if err := r.Close(); err == nil {
		t.Fatal("Close did not report the wrong-sized frames")
	}
	if r.Frame(pattern(w, h, 1)) {
		t.Fatal("Frame accepted a frame after Close")
	}
	if r.Frames() != 1 || r.Dropped() != 3 {
		t.Fatalf("Frames %d, Dropped %d; want 1, 3", r.Frames(), r.Dropped())
	}
}

// TestConcurrentClose races Frame from several goroutines with Close, for
// the race detector and for a send on the closed queue.
func TestConcurrentClose(t *testing.T) {
	const w, h = 32, 32
	r, err := open(Options{Path: filepath.Join(t.TempDir(), "a.avi"), Width: w, Height: h, FFmpeg: "none", Queue: 4},
		func(e encoder) encoder { return slowEncoder{e, 100 * time.Microsecond} })
	if err != nil {
		t.Fatal(err)
	}
	frame := pattern(w, h, 0)
	var wg sync.WaitGroup
	const workers, each = 4, 200
	for range workers {
		wg.Go(func() {
			for range each {
				r.Frame(frame)
				_ = r.Frames() + r.Dropped()
				_ = r.Err()
			}
		})
	}
	time.Sleep(5 * time.Millisecond)
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if got := r.Frames() + r.Dropped(); got != workers*each {
		t.Fatalf("Frames+Dropped = %d, want %d", got, workers*each)
	}
}

// failingFile fails the n-th WriteAt after writing half of it, like a disk
// that fills up, then works again (so finish can write the index).
type failingFile struct {
	aviFile
	n, calls int
}

func (f *failingFile) WriteAt(p []byte, off int64) (int, error) {
	f.calls++
	if f.calls == f.n {
		k, _ := f.aviFile.WriteAt(p[:len(p)/2], off)
		return k, errors.New("no space left on device (test)")
	}
	return f.aviFile.WriteAt(p, off)
}

func TestAVIWriteFailure(t *testing.T) {
	needFFmpeg(t)
	const w, h, failAt = 64, 48, 10
	path := filepath.Join(t.TempDir(), "fail.avi")
	r, err := open(Options{Path: path, Width: w, Height: h, FFmpeg: "none", Queue: 1},
		func(e encoder) encoder {
			a := e.(*aviEncoder)
			a.f = &failingFile{aviFile: a.f, n: failAt}
			return a
		})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 30 {
		r.frame(pattern(w, h, i), true) // wait for the queue rather than drop
	}
	err = r.Close()
	if err == nil || !strings.Contains(err.Error(), "no space left") {
		t.Fatalf("Close: %v, want the write failure", err)
	}
	if r.Frames() != failAt-1 || r.Frames()+r.Dropped() != 30 {
		t.Fatalf("Frames %d, Dropped %d; want %d encoded of 30", r.Frames(), r.Dropped(), failAt-1)
	}
	if got := probe(t, path); got != (probeResult{"mjpeg", w, h, failAt - 1}) {
		t.Fatalf("finalised file: %+v, want %d frames", got, failAt-1)
	}
}

func TestAVISizeLimit(t *testing.T) {
	needFFmpeg(t)
	const w, h = 64, 48
	saved := maxAVISize
	defer func() { maxAVISize = saved }()
	maxAVISize = 20 << 10
	path := filepath.Join(t.TempDir(), "full.avi")
	r, err := Open(Options{Path: path, Width: w, Height: h, FFmpeg: "none", Queue: 1})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; r.Err() == nil; i++ {
		if i > 1000 {
			t.Fatal("no error after 1000 frames")
		}
		r.Frame(pattern(w, h, i))
		time.Sleep(100 * time.Microsecond)
	}
	if err := r.Close(); !errors.Is(err, errAVIFull) {
		t.Fatalf("Close: %v, want %v", err, errAVIFull)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	got := probe(t, path)
	t.Logf("full file: %d bytes, %+v", st.Size(), got)
	if st.Size() > maxAVISize || got.Frames != r.Frames() || got.Frames == 0 {
		t.Fatalf("file %d bytes (limit %d), %d frames, Frames() %d", st.Size(), maxAVISize, got.Frames, r.Frames())
	}
}

// BenchmarkEncode measures how many frames per second each encoder
// sustains, from the first frame to the finished file. The pattern moves
// every frame, which is harder to encode than a mostly still UI.
func BenchmarkEncode(b *testing.B) {
	needFFmpeg(b)
	for _, c := range []struct {
		name, ext string
		w, h      int
	}{
		{"1280x720", ".mp4", 1280, 720},
		{"1920x1080", ".mp4", 1920, 1080},
		{"mjpeg-1280x720", ".avi", 1280, 720},
	} {
		b.Run(c.name, func(b *testing.B) {
			frames := make([][]byte, 8)
			for i := range frames {
				frames[i] = pattern(c.w, c.h, i)
			}
			r, err := Open(Options{Path: filepath.Join(b.TempDir(), "bench"+c.ext), Width: c.w, Height: c.h})
			if err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			start := time.Now()
			for i := range b.N {
				r.frame(frames[i%len(frames)], true)
			}
			if err := r.Close(); err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(r.Frames())/time.Since(start).Seconds(), "frames/s")
			if r.Frames() != b.N {
				b.Fatalf("encoded %d of %d frames", r.Frames(), b.N)
			}
		})
	}
}

// BenchmarkFrame measures what Frame costs the render loop when the queue
// has room: a copy into a pooled buffer and a channel send.
func BenchmarkFrame(b *testing.B) {
	for _, s := range []struct{ w, h int }{{1280, 720}, {1920, 1080}} {
		b.Run(fmt.Sprintf("%dx%d", s.w, s.h), func(b *testing.B) {
			r, err := open(Options{Path: filepath.Join(b.TempDir(), "a.avi"), Width: s.w, Height: s.h, FFmpeg: "none"},
				func(e encoder) encoder { return discardEncoder{e} })
			if err != nil {
				b.Fatal(err)
			}
			frame := pattern(s.w, s.h, 0)
			b.SetBytes(int64(len(frame)))
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				// Measure the path with room in the queue: wait, untimed,
				// for the encoder goroutine to hand a buffer back.
				b.StopTimer()
				for len(r.free) == 0 {
					runtime.Gosched()
				}
				b.StartTimer()
				r.Frame(frame)
			}
			b.StopTimer()
			r.Close()
			b.ReportMetric(float64(r.Dropped()), "dropped")
		})
	}
}
