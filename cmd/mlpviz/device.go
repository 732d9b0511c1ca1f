package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/mlpviz/mlpviz/configs"
	"github.com/mlpviz/mlpviz/trainer/backend/cuda"
)

// openDevice starts the backend that --device names: a CUDA backend, or nil
// for the CPU (the trainer's default). It also returns what the training
// line says the run is on. --device cuda without a usable GPU is one line
// naming what is missing, exit status 2; auto falls back to the CPU and
// says why.
func openDevice(name string, stderr io.Writer) (*cuda.Backend, string, error) {
	switch name {
	case configs.DeviceCUDA:
		b, err := cuda.New()
		if err != nil {
			return nil, "", exitError{2, "--device cuda: " + strings.TrimPrefix(err.Error(), "cuda: ")}
		}
		return b, "cuda: " + b.Describe(), nil
	case configs.DeviceAuto:
		if err := cuda.Available(); err != nil {
			return nil, "cpu (--device auto: " + strings.TrimPrefix(err.Error(), "cuda: ") + ")", nil
		}
		b, err := cuda.New()
		if err != nil {
			fmt.Fprintf(stderr, "mlpviz: --device auto: the GPU did not start (%v); training on the CPU\n", err)
			return nil, "cpu", nil
		}
		return b, "cuda: " + b.Describe(), nil
	}
	return nil, "cpu", nil
}
