package driver

import (
	"errors"
	"fmt"
)

// Info describes the GPU that Probe found.
type Info struct {
	Device       Device
	Name         string
	Major, Minor int    // compute capability
	Memory       uint64 // bytes
	Driver       int    // the CUDA version the driver supports, as Version
}

// Probe loads the driver and checks that it has a GPU and supports CUDA
// version need (as Version: 11080 for 11.8), what PTX of that version
// needs to be compiled. Its error is one line saying what is missing, and
// matches ErrUnsupported, ErrNoLibrary, ErrNoDevice or ErrDriverTooOld
// under errors.Is where it is one of them.
func Probe(need int) (*Driver, Info, error) {
	d, err := Load()
	return probe(d, err, need)
}

// probe is Probe on the result of a load.
func probe(d *Driver, err error, need int) (*Driver, Info, error) {
	if d == nil {
		return nil, Info{}, err
	}
	info := Info{Driver: d.version}
	var e *Error
	switch {
	case errors.As(err, &e) && e.Code == ErrorStubLibrary:
		return nil, info, fmt.Errorf("%w: %s is the CUDA toolkit's stub, not the driver's library", ErrNoLibrary, d.library)
	case errors.As(err, &e) && e.Code == ErrorNoDevice:
		return nil, info, fmt.Errorf("%w: the driver (CUDA %s) finds none (%s: %s)", ErrNoDevice, VersionString(d.version), e.Func, e.Name)
	case err != nil:
		return nil, info, err
	}
	n, err := d.DeviceCount()
	switch {
	case err != nil:
		return nil, info, err
	case n == 0:
		return nil, info, fmt.Errorf("%w: the driver (CUDA %s) finds none", ErrNoDevice, VersionString(d.version))
	case d.version < need:
		return nil, info, fmt.Errorf("%w: it supports CUDA %s and mlpviz's kernels need %s or newer; update the driver",
			ErrDriverTooOld, VersionString(d.version), VersionString(need))
	}
	if info.Device, err = d.Device(0); err != nil {
		return nil, info, err
	}
	if info.Name, err = d.DeviceName(info.Device); err != nil {
		return nil, info, err
	}
	if info.Major, info.Minor, err = d.ComputeCapability(info.Device); err != nil {
		return nil, info, err
	}
	if info.Memory, err = d.TotalMemory(info.Device); err != nil {
		return nil, info, err
	}
	return d, info, nil
}

// String describes the GPU for a progress line: "NVIDIA H100 80GB HBM3
// (sm_90, 80 GiB, driver CUDA 12.4)".
func (i Info) String() string {
	return fmt.Sprintf("%s (sm_%d%d, %d GiB, driver CUDA %s)", i.Name, i.Major, i.Minor, (i.Memory+1<<29)>>30, VersionString(i.Driver))
}
