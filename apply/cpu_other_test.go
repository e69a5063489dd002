//go:build !unix

package apply

// processCPU is not measured here.
func processCPU() int64 { return 0 }
