// The public API of the engine: one import gives the codec, audio I/O and weights.
@_exported import Audio
@_exported import Codec
@_exported import FileAccess
@_exported import LM
@_exported import Tensor
@_exported import TextTokenizer
@_exported import Weights
