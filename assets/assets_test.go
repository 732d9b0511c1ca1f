package assets

import "testing"

// TestIcon: the embedded icon decodes, is square and is not blank.
func TestIcon(t *testing.T) {
	img := Icon()
	b := img.Bounds()
	if b.Dx() != 256 || b.Dy() != 256 {
		t.Fatalf("icon is %v, want 256x256", b)
	}
	if _, _, _, a := img.At(0, 0).RGBA(); a != 0 {
		t.Errorf("the icon's corner is opaque; its rounded corners should be clear")
	}
	if _, _, _, a := img.At(128, 128).RGBA(); a == 0 {
		t.Errorf("the icon's centre is clear")
	}
}
