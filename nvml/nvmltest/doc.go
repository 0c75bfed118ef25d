// Package nvmltest gives tests a GPU server that does not exist: NVIDIA's mock of a
// DGX H100 (github.com/NVIDIA/go-nvml/pkg/nvml/mock/dgxh100) with the readings the mock
// leaves out, and power limits that the mock GPUs keep and draw within. Tests that set
// power limits set them here, never on a real GPU (see nvml's TestLimiterCallers). It
// needs cgo on Linux, as package nvml's Reader does.
package nvmltest
