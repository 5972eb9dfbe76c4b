// ConfigReader hands out JSONValues, so users of Weights get the JSON types with it.
@_exported import JSON
// DType lives in Tensor (kernels dispatch on it); weights code uses it everywhere.
@_exported import Tensor
