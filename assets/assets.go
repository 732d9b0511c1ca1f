// Package assets holds what the window ships with: the application icon.
// The fonts are the Go fonts from golang.org/x/image/font/gofont (BSD
// licence, the Go authors), imported as packages rather than copied here;
// README.md in this folder lists each file and its licence.
package assets

import (
	"bytes"
	_ "embed"
	"image"
	"image/png"
)

//go:generate go run make_icon.go

//go:embed icon.png
var iconPNG []byte

// Icon is the application icon, 256x256: three layers of neurons joined by
// red and blue connections on the window's dark ground.
func Icon() image.Image {
	img, err := png.Decode(bytes.NewReader(iconPNG))
	if err != nil {
		panic("assets: icon.png does not decode: " + err.Error()) // a broken build, not bad input
	}
	return img
}
