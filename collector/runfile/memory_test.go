package runfile

import (
	"bytes"
	"math/rand/v2"
	"os"
	"reflect"
	"testing"

	"github.com/mlpviz/mlpviz/collector"
)

// TestEncodeMatchesFile: Encode gives the bytes Create, Append and Close
// leave on disk, and OpenBytes reads back what Open reads from the file.
func TestEncodeMatchesFile(t *testing.T) {
	rng := rand.New(rand.NewPCG(41, 42))
	arch := smallArch()
	ps := passes(rng, arch, 5, true)
	ps = append(ps, randomPass(rng, arch, 60, false))
	for _, prec := range []Precision{F16, F32} {
		t.Run(prec.String(), func(t *testing.T) {
			path, _, _ := writeRun(t, arch, prec, ps, true)
			onDisk, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			mem, err := Encode(arch, ps, Options{Precision: prec})
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(mem, onDisk) {
				t.Fatalf("Encode gave %d bytes, the file written the same way %d, and they differ", len(mem), len(onDisk))
			}
			fr := mustOpen(t, path)
			mr, err := OpenBytes("imported", mem)
			if err != nil {
				t.Fatal(err)
			}
			defer mr.Close()
			if mr.Name() != "imported" || mr.Len() != fr.Len() || !mr.Closed() || mr.Damage() != nil ||
				mr.Size() != int64(len(mem)) || mr.Precision() != prec || !reflect.DeepEqual(mr.Architecture(), fr.Architecture()) {
				t.Fatalf("OpenBytes: name %q Len %d closed %v damage %v size %d precision %v; the file: Len %d",
					mr.Name(), mr.Len(), mr.Closed(), mr.Damage(), mr.Size(), mr.Precision(), fr.Len())
			}
			for i := range fr.Len() {
				want, err := fr.Pass(i)
				if err != nil {
					t.Fatal(err)
				}
				got, err := mr.Pass(i)
				if err != nil {
					t.Fatal(err)
				}
				sameExact(t, i, want, got)
			}
			if n, err := mr.Refresh(); err != nil || n != 0 {
				t.Fatalf("Refresh of bytes = %d, %v", n, err)
			}
		})
	}
}

// TestEncodeEmptyAndMisfit: a run of no passes is a valid file; a pass that
// does not fit is refused as Append refuses it.
func TestEncodeEmptyAndMisfit(t *testing.T) {
	arch := smallArch()
	mem, err := Encode(arch, nil, Options{})
	if err != nil {
		t.Fatal(err)
	}
	r, err := OpenBytes("empty run", mem)
	if err != nil {
		t.Fatal(err)
	}
	if r.Len() != 0 || !r.Closed() {
		t.Fatalf("Len %d closed %v", r.Len(), r.Closed())
	}
	p := randomPass(rand.New(rand.NewPCG(43, 44)), arch, 7, true)
	p.Layers[0].Bias = p.Layers[0].Bias[:3]
	_, err = Encode(arch, []*collector.Pass{p}, Options{})
	wantErr(t, err, "pass at step 7: layer 1 bias has 3 values, the head's 6x4 layer takes 4")
	_, err = Encode(nil, nil, Options{})
	wantErr(t, err, "no architecture")
}

// TestOpenBytesDamage: bytes are judged as a file is, under the given name.
func TestOpenBytesDamage(t *testing.T) {
	_, err := OpenBytes("clip.json", []byte(`{"step": 1}`))
	wantErr(t, err, "clip.json is not an mlpv run file")
	_, err = OpenBytes("nothing", nil)
	wantErr(t, err, "nothing: empty file")
	arch := smallArch()
	mem, err := Encode(arch, passes(rand.New(rand.NewPCG(45, 46)), arch, 3, true), Options{})
	if err != nil {
		t.Fatal(err)
	}
	r, err := OpenBytes("cut", mem[:len(mem)-footerLen-1])
	if err != nil {
		t.Fatal(err)
	}
	if r.Len() != 3 || r.Closed() || r.Damage() == nil {
		t.Fatalf("cut in the index: Len %d closed %v damage %v", r.Len(), r.Closed(), r.Damage())
	}
}
