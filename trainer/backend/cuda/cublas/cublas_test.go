package cublas

import (
	"errors"
	"strings"
	"testing"
)

func TestNotInstalled(t *testing.T) {
	saved := libraryNames
	defer func() { libraryNames = saved }()
	libraryNames = []string{"libcublas-not-installed.so.99"}
	_, err := New(0)
	if !errors.Is(err, ErrNotFound) {
		t.Fatalf("got %v, want ErrNotFound", err)
	}
	if msg := err.Error(); strings.ContainsRune(msg, '\n') || !strings.HasPrefix(msg, "cublas: not installed (") {
		t.Errorf("message %q", msg)
	}
}

func TestErrorText(t *testing.T) {
	for e, want := range map[Error]string{
		{Func: "cublasSgemm", Status: 13}:  "cublas: cublasSgemm: CUBLAS_STATUS_EXECUTION_FAILED",
		{Func: "cublasCreate", Status: 99}: "cublas: cublasCreate: status 99",
	} {
		if got := e.Error(); got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	}
}
