// DType lives in Tensor (kernels dispatch on it); weights code uses it everywhere.
@_exported import Tensor
