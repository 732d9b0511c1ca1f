package runfile

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/mlpviz/mlpviz/collector"
	"github.com/x448/float16"
)

func mustOpen(t *testing.T, path string) *Reader {
	t.Helper()
	r, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

func wantErr(t *testing.T, err error, parts ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want one containing %q", parts)
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Fatalf("error %q does not contain %q", err, p)
		}
	}
}

func TestRoundTripF32(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	arch := mnistArch()
	ps := passes(rng, arch, 3, true)
	ps = append(ps, randomPass(rng, arch, 40, false)) // without gradients
	ps[1].Loss = float32(math.Inf(1))
	ps[1].Logits[0] = float32(math.Inf(-1))
	ps[2].Wall = time.Time{}
	ps[2].Step, ps[2].Epoch, ps[2].TrueLabel = math.MaxInt64, -1, -5
	path, _, _ := writeRun(t, arch, F32, ps, true)

	r := mustOpen(t, path)
	if !reflect.DeepEqual(r.Architecture(), arch) {
		t.Fatalf("architecture %+v, want %+v", r.Architecture(), arch)
	}
	if r.FormatVersion() != writeVersion || r.Precision() != F32 || !r.Closed() || r.Damage() != nil {
		t.Fatalf("version %d precision %v closed %v damage %v", r.FormatVersion(), r.Precision(), r.Closed(), r.Damage())
	}
	if r.Len() != len(ps) {
		t.Fatalf("Len %d, want %d", r.Len(), len(ps))
	}
	for i, want := range ps {
		got, err := r.Pass(i)
		if err != nil {
			t.Fatal(err)
		}
		sameExact(t, i, want, got)
	}
}

func TestRoundTripF16(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	arch := mnistArch()
	ps := passes(rng, arch, 3, true)
	ps = append(ps, randomPass(rng, arch, 40, false))
	ps[0].Logits[1] = float32(math.Inf(1))
	ps[0].Layers[0].Weight[5] = 0
	ps[0].Layers[1].Weight[0] = 1e30 // beyond float16's range: the scale takes it
	path, _, _ := writeRun(t, arch, F16, ps, true)

	r := mustOpen(t, path)
	if r.Precision() != F16 || r.Len() != len(ps) {
		t.Fatalf("precision %v, Len %d", r.Precision(), r.Len())
	}
	for i, want := range ps {
		got, err := r.Pass(i)
		if err != nil {
			t.Fatal(err)
		}
		sameF16(t, i, want, got)
		if (want.Layers[0].GradWeight == nil) != (got.Layers[0].GradWeight == nil) {
			t.Fatalf("pass %d: gradients present %v, want %v", i, got.Layers[0].GradWeight != nil, want.Layers[0].GradWeight != nil)
		}
	}
}

func TestParsePrecision(t *testing.T) {
	for s, want := range map[string]Precision{"f16": F16, "F32": F32, " f32 ": F32} {
		if got, err := ParsePrecision(s); err != nil || got != want {
			t.Errorf("ParsePrecision(%q) = %v, %v; want %v", s, got, err, want)
		}
	}
	_, err := ParsePrecision("f64")
	wantErr(t, err, `unknown precision "f64"`)
	var p Precision
	if err := p.Set("f32"); err != nil || p.String() != "f32" {
		t.Fatalf("Set: %v, %v", p, err)
	}
}

func TestCreate(t *testing.T) {
	arch := smallArch()
	path := filepath.Join(t.TempDir(), "a", "b", "run.mlpv")
	w, err := Create(path, arch, Options{})
	if err != nil {
		t.Fatal(err) // the parent directories are made
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	wantErr(t, w.Append(randomPass(rand.New(rand.NewPCG(1, 1)), arch, 1, true)), path+" is already closed")

	_, err = Create(path, arch, Options{})
	wantErr(t, err, path, "already exists")

	// A forced overwrite keeps the old file until the new one has a pass.
	w, err = Create(path, arch, Options{Force: true, Precision: F32})
	if err != nil {
		t.Fatal(err)
	}
	w.Close()
	if r := mustOpen(t, path); r.Precision() != F16 || !w.Kept() {
		t.Fatalf("forced overwrite without a pass: precision %v, kept %v; want the old f16 file kept", r.Precision(), w.Kept())
	}
	w, err = Create(path, arch, Options{Force: true, Precision: F32})
	if err != nil {
		t.Fatal(err)
	}
	if r := mustOpen(t, path); r.Precision() != F16 {
		t.Fatal("the old file was replaced before the new one had a pass")
	}
	if err := w.Append(randomPass(rand.New(rand.NewPCG(1, 1)), arch, 1, true)); err != nil {
		t.Fatal(err)
	}
	if r := mustOpen(t, path); r.Precision() != F32 || r.Len() != 1 || r.Closed() {
		t.Fatalf("forced overwrite after a pass: precision %v Len %d closed %v", r.Precision(), r.Len(), r.Closed())
	}
	w.Close()
	if r := mustOpen(t, path); r.Len() != 1 || !r.Closed() || w.Kept() {
		t.Fatalf("forced overwrite closed: Len %d closed %v kept %v", r.Len(), r.Closed(), w.Kept())
	}
	if left, _ := filepath.Glob(filepath.Join(filepath.Dir(path), ".*")); len(left) != 0 {
		t.Fatalf("temporary files left behind: %v", left)
	}

	bad := smallArch()
	bad.Head[1].In = 0
	_, err = Create(filepath.Join(t.TempDir(), "x.mlpv"), bad, Options{})
	wantErr(t, err, "head layer 2: bad shape 0x3")
}

func TestAppendRejectsMisfit(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	arch := smallArch()
	w, err := Create(filepath.Join(t.TempDir(), "run.mlpv"), arch, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	p := randomPass(rng, arch, 1, true)
	p.Layers[1].Weight = p.Layers[1].Weight[1:]
	wantErr(t, w.Append(p), w.name+": pass at step 1: layer 2 weight has 11 values, the head's 4x3 layer takes 12")
	p = randomPass(rng, arch, 2, true)
	p.Image = append(p.Image, 1)
	wantErr(t, w.Append(p), "image has 5 values, the 1x2x2 input takes 4")
	p = randomPass(rng, arch, 3, true)
	p.Layers = p.Layers[:1]
	wantErr(t, w.Append(p), "pass at step 3 has 1 layer, the head has 2")
	p = randomPass(rng, arch, 4, true)
	p.Probs = p.Probs[:2]
	wantErr(t, w.Append(p), "probs has 2 values for 3 classes")
	if err := w.Append(randomPass(rng, arch, 5, false)); err != nil {
		t.Fatalf("a misfit pass spoilt the writer: %v", err)
	}
}

// frameOf returns the bytes Append would write for p as pass number seq.
func frameOf(t *testing.T, arch *collector.Architecture, p *collector.Pass, seq uint64) []byte {
	t.Helper()
	w, err := Create(filepath.Join(t.TempDir(), "frame.mlpv"), arch, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer abandon(w)
	fr, start := beginFrame(nil)
	fr = append(fr, recPass)
	fr = le.AppendUint64(fr, seq)
	fr = w.enc.EncodeAll(appendPass(nil, p, w.prec), fr)
	return endFrame(fr, start)
}

func appendBytes(t *testing.T, path string, b []byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestTail(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	arch := mnistArch()
	ps := passes(rng, arch, 6, true)
	path := filepath.Join(t.TempDir(), "run.mlpv")
	w, err := Create(path, arch, Options{})
	if err != nil {
		t.Fatal(err)
	}
	r := mustOpen(t, path)
	if r.Len() != 0 || r.Closed() || r.Damage() != nil {
		t.Fatalf("fresh file: Len %d closed %v damage %v", r.Len(), r.Closed(), r.Damage())
	}
	for _, p := range ps[:2] {
		if err := w.Append(p); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := r.Refresh(); err != nil || n != 2 || r.Len() != 2 {
		t.Fatalf("Refresh = %d, %v; Len %d; want 2 passes", n, err, r.Len())
	}
	if n, err := r.Refresh(); err != nil || n != 0 {
		t.Fatalf("Refresh with nothing new = %d, %v", n, err)
	}
	for _, p := range ps[2:5] {
		if err := w.Append(p); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := r.Refresh(); err != nil || n != 3 || r.Len() != 5 || r.Size() != w.Bytes() {
		t.Fatalf("Refresh = %d, %v; Len %d size %d; want 3 more, size %d", n, err, r.Len(), r.Size(), w.Bytes())
	}
	for i := range 5 {
		got, err := r.Pass(i)
		if err != nil {
			t.Fatal(err)
		}
		sameF16(t, i, ps[i], got)
	}

	// The writer stops; the next record arrives in pieces, as a reader racing
	// a large write could see it.
	abandon(w)
	frame := frameOf(t, arch, ps[5], 5)
	for _, cut := range []int{5, frameHeaderLen, frameHeaderLen + 1, len(frame) / 2, len(frame) - 1} {
		appendBytes(t, path, frame[:cut])
		if n, err := r.Refresh(); err != nil || n != 0 || r.Len() != 5 || r.Damage() != nil {
			t.Fatalf("%d of %d bytes of a record: Refresh = %d, %v; Len %d; damage %v", cut, len(frame), n, err, r.Len(), r.Damage())
		}
		appendBytes(t, path, frame[cut:])
		if n, err := r.Refresh(); err != nil || n != 1 || r.Len() != 6 {
			t.Fatalf("record completed: Refresh = %d, %v; Len %d", n, err, r.Len())
		}
		got, err := r.Pass(5)
		if err != nil {
			t.Fatal(err)
		}
		sameF16(t, 5, ps[5], got)
		// Undo, for the next cut.
		if err := os.Truncate(path, r.Size()-int64(len(frame))); err != nil {
			t.Fatal(err)
		}
		r.Close()
		r = mustOpen(t, path)
	}

	// Open, unlike Refresh, reports a partial record: the file is taken as
	// finished.
	appendBytes(t, path, frame[:100])
	r2 := mustOpen(t, path)
	if d := r2.Damage(); r2.Len() != 5 || d == nil || d.Offset != r2.Size()-100 || !strings.Contains(d.Reason, "truncated record") {
		t.Fatalf("Open of a file with a partial record: Len %d damage %v", r2.Len(), d)
	}
	if _, err := r2.Refresh(); err != nil || r2.Damage() != nil {
		t.Fatalf("Refresh: %v, damage %v", err, r2.Damage())
	}
}

func TestTailSeesClose(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	arch := smallArch()
	path := filepath.Join(t.TempDir(), "run.mlpv")
	w, err := Create(path, arch, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ps := passes(rng, arch, 3, true)
	w.Append(ps[0])
	w.Append(ps[1])
	r := mustOpen(t, path)
	w.Append(ps[2])
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if n, err := r.Refresh(); err != nil || n != 1 || !r.Closed() || r.Damage() != nil {
		t.Fatalf("Refresh after Close = %d, %v; closed %v damage %v", n, err, r.Closed(), r.Damage())
	}
	if n, err := r.Refresh(); err != nil || n != 0 || r.Len() != 3 {
		t.Fatalf("Refresh of a closed file = %d, %v; Len %d", n, err, r.Len())
	}
}

func TestOverwriteWhileTailing(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	arch := smallArch()
	path, _, _ := writeRun(t, arch, F16, passes(rng, arch, 3, true), false)
	r := mustOpen(t, path)
	arch2 := testArch([]int{6, 5, 3}, [3]int{1, 2, 2})
	w, err := Create(path, arch2, Options{Force: true})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if _, err = r.Refresh(); err != nil {
		t.Fatalf("Refresh before the new run has a pass: %v", err)
	}
	if err := w.Append(randomPass(rng, arch2, 1, true)); err != nil {
		t.Fatal(err)
	}
	_, err = r.Refresh()
	if !errors.Is(err, ErrReplaced) {
		t.Fatalf("Refresh after the new run's first pass: %v, want ErrReplaced", err)
	}
	// A closed file is checked too: a viewer must not keep showing it.
	w.Close()
	r2 := mustOpen(t, path)
	w3, err := Create(path, smallArch(), Options{Force: true})
	if err != nil {
		t.Fatal(err)
	}
	w3.Append(randomPass(rng, smallArch(), 1, true))
	w3.Close()
	if _, err := r2.Refresh(); !errors.Is(err, ErrReplaced) {
		t.Fatalf("Refresh of a closed file since replaced: %v, want ErrReplaced", err)
	}
}

func TestCrashNoClose(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	arch := mnistArch()
	ps := passes(rng, arch, 5, true)
	path, _, _ := writeRun(t, arch, F32, ps, false)
	r := mustOpen(t, path)
	if r.Closed() || r.Damage() != nil || r.Len() != len(ps) {
		t.Fatalf("closed %v damage %v Len %d", r.Closed(), r.Damage(), r.Len())
	}
	for i, want := range ps {
		got, err := r.Pass(i)
		if err != nil {
			t.Fatal(err)
		}
		sameExact(t, i, want, got)
	}
}

// TestTruncateEveryByte cuts a closed file at every offset from the start of
// its last pass record on, as a crash at any moment of the last Append or of
// Close would.
func TestTruncateEveryByte(t *testing.T) {
	rng := rand.New(rand.NewPCG(15, 16))
	arch := smallArch()
	ps := passes(rng, arch, 4, true)
	path, offsets, indexOff := writeRun(t, arch, F16, ps, true)
	whole, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	size := int64(len(whole))
	footerOff := size - footerLen
	last := offsets[len(offsets)-1]
	cutPath := filepath.Join(t.TempDir(), "cut.mlpv")
	for cut := last; cut < size; cut++ {
		if err := os.WriteFile(cutPath, whole[:cut], 0o644); err != nil {
			t.Fatal(err)
		}
		r, err := Open(cutPath)
		if err != nil {
			t.Fatalf("cut at %d: %v", cut, err)
		}
		wantLen, wantDamage := len(ps), int64(-1)
		switch {
		case cut == last: // the last record is lost whole: no damage
			wantLen = len(ps) - 1
		case cut < indexOff:
			wantLen, wantDamage = len(ps)-1, last
		case cut == indexOff: // a crash just before Close: no damage
		case cut < footerOff:
			wantDamage = indexOff
		default:
			wantDamage = footerOff
		}
		d := r.Damage()
		if r.Len() != wantLen || r.Closed() {
			t.Fatalf("cut at %d: Len %d closed %v, want %d passes, not closed", cut, r.Len(), r.Closed(), wantLen)
		}
		if wantDamage < 0 && d != nil || wantDamage >= 0 && (d == nil || d.Offset != wantDamage) {
			t.Fatalf("cut at %d: damage %v, want offset %d", cut, d, wantDamage)
		}
		if p, err := r.Pass(wantLen - 1); err != nil || p.Step != ps[wantLen-1].Step {
			t.Fatalf("cut at %d: last pass: %v", cut, err)
		}
		if n, err := r.Refresh(); err != nil || n != 0 || r.Damage() != nil {
			t.Fatalf("cut at %d: Refresh = %d, %v; damage %v", cut, n, err, r.Damage())
		}
		r.Close()
	}
}

func TestFlipByte(t *testing.T) {
	rng := rand.New(rand.NewPCG(17, 18))
	arch := mnistArch()
	ps := passes(rng, arch, 5, true)
	for _, closed := range []bool{false, true} {
		for _, at := range []int64{3, frameHeaderLen + 100} { // length field, payload
			t.Run(fmt.Sprintf("closed=%v/at=%d", closed, at), func(t *testing.T) {
				path, offsets, _ := writeRun(t, arch, F16, ps, closed)
				b, err := os.ReadFile(path)
				if err != nil {
					t.Fatal(err)
				}
				bad := offsets[2]
				b[bad+at] ^= 0x40
				if err := os.WriteFile(path, b, 0o644); err != nil {
					t.Fatal(err)
				}
				r := mustOpen(t, path)
				for i := range 2 {
					got, err := r.Pass(i)
					if err != nil {
						t.Fatal(err)
					}
					sameF16(t, i, ps[i], got)
				}
				// Every pass but the damaged one reads: through the index
				// when its records still agree with it, else by a scan
				// that finds the next whole record.
				got, bad2 := steps(r)
				if fmt.Sprint(got) != "[10 20 40 50]" || r.Closed() != closed {
					t.Fatalf("steps %v (%d damaged), closed %v", got, bad2, r.Closed())
				}
				if closed && at > frameHeaderLen {
					_, err := r.Pass(2)
					wantErr(t, err, fmt.Sprintf("%s: pass 3 at offset %d is damaged: ", path, bad), "crc mismatch")
				}
				if d := r.Damage(); d == nil || d.Offset != bad || !strings.Contains(d.Reason, "crc mismatch") {
					t.Fatalf("damage %v, want crc mismatch at offset %d", d, bad)
				}
			})
		}
	}
}

// validPrefix is the magic and header record of a small run file.
func validPrefix(t *testing.T) []byte {
	t.Helper()
	path, _, _ := writeRun(t, smallArch(), F16, nil, false)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestBadFiles(t *testing.T) {
	head := validPrefix(t)
	future := bytes.Clone(head)
	future[4] = 9
	badCRC := bytes.Clone(head)
	badCRC[len(badCRC)-10] ^= 1
	headerVersion := bytes.Clone(head)
	le.PutUint16(headerVersion[4:], 1)
	hugeHeader := bytes.Clone(head[:magicLen])
	hugeHeader = le.AppendUint64(hugeHeader, 1<<40)
	hugeHeader = le.AppendUint32(hugeHeader, maskedCRC(hugeHeader[magicLen:]))

	for _, tc := range []struct {
		name  string
		data  []byte
		parts []string
	}{
		{"empty", nil, []string{"empty file"}},
		{"png", []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), []string{"is not an mlpv run file", `\x89PNG`}},
		{"json", []byte(`{"step": 1, "layers": []}`), []string{"is not an mlpv run file"}},
		{"short magic", []byte("MLP"), []string{"file ends inside the magic"}},
		{"magic only", head[:magicLen], []string{"header record damaged", "truncated record header"}},
		{"future version", future, []string{fmt.Sprintf("format version 9 is newer than this mlpviz reads (%d); update mlpviz", FormatVersion)}},
		{"header crc", badCRC, []string{"header record damaged", "crc mismatch"}},
		{"huge header length", hugeHeader, []string{"header record damaged", "absurd record length 1099511627776"}},
		{"header cut", head[:len(head)-1], []string{"header record damaged", "truncated record"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "bad.mlpv")
			if err := os.WriteFile(path, tc.data, 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := Open(path)
			wantErr(t, err, append([]string{path}, tc.parts...)...)
		})
	}
	missing := filepath.Join(t.TempDir(), "missing.mlpv")
	_, err := Open(missing)
	wantErr(t, err, "cannot open "+missing+": no such file")
	dir := t.TempDir()
	_, err = Open(dir)
	wantErr(t, err, dir+": is a directory, not a run file")
}

// TestHugeLength puts a record whose length field (with a valid CRC) claims
// far more than the file holds: it must be damage, not an allocation.
func TestHugeLength(t *testing.T) {
	for _, n := range []uint64{1 << 62, maxRecordLen + 1, 1 << 20} {
		b := validPrefix(t)
		off := int64(len(b))
		b = le.AppendUint64(b, n)
		b = le.AppendUint32(b, maskedCRC(b[off:]))
		b = append(b, make([]byte, 64)...)
		path := filepath.Join(t.TempDir(), "huge.mlpv")
		os.WriteFile(path, b, 0o644)
		r := mustOpen(t, path)
		d := r.Damage()
		if r.Len() != 0 || d == nil || d.Offset != off {
			t.Fatalf("length %d: Len %d damage %v", n, r.Len(), d)
		}
		if n > maxRecordLen && !strings.Contains(d.Reason, "absurd record length") ||
			n <= maxRecordLen && !strings.Contains(d.Reason, "truncated record: 1048576 payload bytes, only 60 left") {
			t.Fatalf("length %d: reason %q", n, d.Reason)
		}
		if _, err := r.Refresh(); err != nil {
			t.Fatal(err)
		}
		if n > maxRecordLen && r.Damage() == nil {
			t.Fatalf("length %d: Refresh forgot the damage", n)
		}
	}
}

// TestInconsistentPass frames, with valid CRCs, passes whose arrays do not
// fit the architecture: decoding must say which array.
func TestInconsistentPass(t *testing.T) {
	rng := rand.New(rand.NewPCG(19, 20))
	arch := smallArch()
	s, err := newShape(arch, F16)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		mess  func(p *collector.Pass)
		parts []string
	}{
		{"weight", func(p *collector.Pass) { p.Layers[0].Weight = p.Layers[0].Weight[:23] }, []string{"decode: pass at step 1: layer 1 weight has 23 values, the head's 6x4 layer takes 24"}},
		{"layers", func(p *collector.Pass) { p.Layers = p.Layers[:1] }, []string{"decode: pass at step 1 has 1 layer, the head has 2"}},
		{"logits", func(p *collector.Pass) { p.Logits = p.Logits[:2] }, []string{"decode: pass at step 1: logits has 2 values for 3 classes"}},
		{"too big", func(p *collector.Pass) { p.Layers = append(p.Layers, p.Layers[0]) }, []string{"zstd frame declares 540 bytes, a pass of this architecture takes 56 to 372"}},
		{"grad bias", func(p *collector.Pass) { p.Layers[1].GradBias = p.Layers[1].GradBias[:1] }, []string{"decode: pass at step 1: layer 2 bias gradient has 1 value, the head's 4x3 layer takes 3"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := randomPass(rng, arch, 1, true)
			tc.mess(p)
			raw := appendPass(nil, p, F16)
			w, err := Create(filepath.Join(t.TempDir(), "run.mlpv"), arch, Options{})
			if err != nil {
				t.Fatal(err)
			}
			fr, start := beginFrame(nil)
			fr = append(fr, recPass)
			fr = le.AppendUint64(fr, 0)
			fr = w.enc.EncodeAll(raw, fr)
			fr = endFrame(fr, start)
			off := w.Bytes()
			abandon(w)
			appendBytes(t, w.name, fr)
			r := mustOpen(t, w.name)
			if r.Len() != 1 || r.Damage() != nil {
				t.Fatalf("Len %d damage %v: the frame itself is sound", r.Len(), r.Damage())
			}
			_, err = r.Pass(0)
			wantErr(t, err, append([]string{fmt.Sprintf("%s: pass 1 at offset %d is damaged: ", w.name, off)}, tc.parts...)...)
			if d := r.Damage(); d == nil || d.Offset != off {
				t.Fatalf("damage %v, want offset %d", d, off)
			}
		})
	}

	// Every prefix of a sound encoding fails cleanly.
	raw := appendPass(nil, randomPass(rng, arch, 1, true), F16)
	if _, err := decodePass(raw, &s, F16); err != nil {
		t.Fatal(err)
	}
	for n := range len(raw) {
		if _, err := decodePass(raw[:n], &s, F16); err == nil {
			t.Fatalf("a %d-byte prefix of a %d-byte pass decoded", n, len(raw))
		}
	}
	if _, err := decodePass(append(raw, 0), &s, F16); err == nil {
		t.Fatal("a trailing byte went unnoticed")
	}
}

// TestSize reports bytes per pass for the 576-24-24-24-24-10 head and holds
// float16 passes to a tenth of the 734 KB a JSON collection took.
func TestSize(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	arch := mnistArch()
	const n = 20
	for _, grads := range []bool{true, false} {
		ps := make([]*collector.Pass, n)
		for i := range ps {
			ps[i] = realisticPass(rng, arch, i*50, grads)
		}
		for _, prec := range []Precision{F16, F32} {
			path, offsets, indexOff := writeRun(t, arch, prec, ps, true)
			per := float64(indexOff-offsets[0]) / n
			raw := len(appendPass(nil, ps[0], prec))
			st, _ := os.Stat(path)
			t.Logf("head %v gradients %-5v %v: %6.0f bytes per pass (encoding %d before zstd), file %d bytes for %d passes",
				mnistHead, grads, prec, per, raw, st.Size(), n)
			if prec == F16 && per > 73_400 {
				t.Errorf("%v with gradients %v: %.0f bytes per pass, budget 73,400", prec, grads, per)
			}
		}
	}
}

// TestToF16 holds the fast float16 conversion to x448/float16's, at the
// edges of its range, at rounding ties and on random bit patterns.
func TestToF16(t *testing.T) {
	check := func(u uint32) {
		x := math.Float32frombits(u)
		if got, want := toF16(x), float16.Fromfloat32(x).Bits(); got != want {
			t.Fatalf("toF16(%g = %#08x) = %#04x, want %#04x", x, u, got, want)
		}
	}
	for _, edge := range []uint32{0x38800000, 0x477ff000, 0x477fe000, 0x3f800000, 0x00000000, 0x7f800000, 0x7fc00000} {
		for d := uint32(0); d < 1<<14; d++ {
			check(edge + d - 1<<13)
			check((edge + d - 1<<13) | 0x80000000)
		}
	}
	for m := uint32(0); m < 1<<10; m++ { // every kept mantissa with an exact tie below it
		check(0x3f800000 | m<<13 | 0x1000)
		check(0x47000000 | m<<13 | 0x1000)
	}
	rng := rand.New(rand.NewPCG(31, 32))
	for range 1 << 20 {
		check(rng.Uint32())
		check(0x38000000 + rng.Uint32N(0x10000000)) // around the normal range
	}
}

// TestConcurrentTail appends, refreshes and reads at once, as trainer and
// viewer do; run it with -race.
func TestConcurrentTail(t *testing.T) {
	rng := rand.New(rand.NewPCG(33, 34))
	arch := smallArch()
	ps := passes(rng, arch, 50, true)
	path := filepath.Join(t.TempDir(), "run.mlpv")
	w, err := Create(path, arch, Options{})
	if err != nil {
		t.Fatal(err)
	}
	r := mustOpen(t, path)
	done := make(chan error, 1)
	go func() {
		for _, p := range ps {
			if err := w.Append(p); err != nil {
				done <- err
				return
			}
		}
		done <- w.Close()
	}()
	readErr := make(chan error, 1)
	stop := make(chan struct{})
	go func() {
		for {
			select {
			case <-stop:
				readErr <- nil
				return
			default:
			}
			if n := r.Len(); n > 0 {
				p, err := r.Pass(n - 1)
				if err != nil || p.Step != ps[n-1].Step {
					readErr <- fmt.Errorf("pass %d: %v", n-1, err)
					return
				}
			}
		}
	}()
	writing := true
	for writing || !r.Closed() {
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
			writing = false
		default:
		}
		if _, err := r.Refresh(); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	if err := <-readErr; err != nil {
		t.Fatal(err)
	}
	if r.Len() != len(ps) || r.Damage() != nil {
		t.Fatalf("Len %d damage %v", r.Len(), r.Damage())
	}
}

// TestTinyPass: a pass of a few bytes (an imported toy collection) must
// still read back; zstd omits the size of tiny frames unless told not to.
func TestTinyPass(t *testing.T) {
	arch := testArch([]int{2, 2}, [3]int{1, 1, 1})
	p := &collector.Pass{Step: 1, Layers: []collector.LayerPass{{
		Input: []float32{1, 2}, Output: []float32{3, 4}, Weight: []float32{1, 0, 0, 1}, Bias: []float32{0, 0}}}}
	path, _, _ := writeRun(t, arch, F16, []*collector.Pass{p}, true)
	r, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	got, err := r.Pass(0)
	if err != nil {
		t.Fatal(err)
	}
	if got.Step != 1 || got.Layers[0].Output[1] != 4 {
		t.Fatalf("read back %+v", got)
	}
}
