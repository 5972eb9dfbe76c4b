import FileAccess
import Foundation
import JSON

/// A Hugging Face style checkpoint directory: either a single `model.safetensors` or shards
/// listed by `model.safetensors.index.json`.
///
/// Every shard is opened (mapped) once, and the index is cross-checked against the shards at
/// open time so that a broken download fails immediately rather than mid-inference.
public final class Checkpoint: @unchecked Sendable {
    public static let indexFileName = "model.safetensors.index.json"
    public static let singleFileName = "model.safetensors"

    public let directory: URL
    /// The file that defines the tensor set (the index, or the single file); named in errors.
    public let sourcePath: String
    /// All tensor names in sorted order.
    public let names: [String]
    /// The opened files, in shard-name order.
    public let files: [SafeTensorsFile]

    private let fileForTensor: [String: SafeTensorsFile]

    public init(directory: URL) throws {
        self.directory = directory
        let indexURL = directory.appendingPathComponent(Checkpoint.indexFileName)
        let singleURL = directory.appendingPathComponent(Checkpoint.singleFileName)
        let fileManager = FileManager.default

        if fileManager.fileExists(atPath: indexURL.path) {
            let weightMap = try Checkpoint.readWeightMap(indexURL)
            let shards = try Checkpoint.openShards(weightMap, directory: directory, indexPath: indexURL.path)
            var fileForTensor: [String: SafeTensorsFile] = [:]
            for (tensor, shardName) in weightMap {
                guard let shard = shards[shardName] else { continue }
                guard shard.contains(tensor) else {
                    throw WeightsError.missingTensor(name: tensor, in: shard.path)
                }
                fileForTensor[tensor] = shard
            }
            sourcePath = indexURL.path
            files = shards.keys.sorted().compactMap { shards[$0] }
            self.fileForTensor = fileForTensor
        } else if fileManager.fileExists(atPath: singleURL.path) {
            let file = try SafeTensorsFile(url: singleURL)
            sourcePath = singleURL.path
            files = [file]
            fileForTensor = Dictionary(uniqueKeysWithValues: file.names.map { ($0, file) })
        } else {
            throw WeightsError.noCheckpoint(
                directory: directory.path, lookedFor: [Checkpoint.indexFileName, Checkpoint.singleFileName])
        }
        names = fileForTensor.keys.sorted()
    }

    public func contains(_ name: String) -> Bool {
        fileForTensor[name] != nil
    }

    public func info(_ name: String) -> TensorInfo? {
        fileForTensor[name]?.info(name)
    }

    /// The file holding `name`, useful in diagnostics.
    public func file(containing name: String) -> SafeTensorsFile? {
        fileForTensor[name]
    }

    /// Raw bytes, valid for the lifetime of this checkpoint.
    public func bytes(_ name: String) throws -> UnsafeRawBufferPointer {
        try file(for: name).bytes(name)
    }

    public func withBytes<R>(_ name: String, _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        try body(bytes(name))
    }

    public func floats(_ name: String) throws -> [Float] {
        try file(for: name).floats(name)
    }

    public func int64s(_ name: String) throws -> [Int64] {
        try file(for: name).int64s(name)
    }

    /// The tensor's info, after checking that it exists and has exactly `shape`.
    public func require(_ name: String, shape: [Int]) throws -> TensorInfo {
        try file(for: name).require(name, shape: shape)
    }

    /// `require` followed by `floats`, the common case when loading a layer.
    public func floats(_ name: String, shape: [Int]) throws -> [Float] {
        _ = try require(name, shape: shape)
        return try floats(name)
    }

    /// Names present in the checkpoint but not in `used`, sorted; for spotting weights a
    /// loader forgot (or a checkpoint from a different model variant).
    public func unusedNames(given used: Set<String>) -> [String] {
        names.filter { !used.contains($0) }
    }

    private func file(for name: String) throws -> SafeTensorsFile {
        guard let file = fileForTensor[name] else {
            throw WeightsError.missingTensor(name: name, in: sourcePath)
        }
        return file
    }

    /// The index's `weight_map`: tensor name to shard file name.
    private static func readWeightMap(_ indexURL: URL) throws -> [String: String] {
        let path = indexURL.path
        let data: Data
        do { data = try FileAccess.read(indexURL) } catch {
            throw WeightsError.cannotOpen(path: path, reason: FileAccess.describe(error))
        }
        let json: JSONValue
        do {
            json = try JSONParser.parse(Array(data))
        } catch {
            throw WeightsError.invalidIndex(path: path, reason: error.description)
        }
        guard case .object(let root) = json else {
            throw WeightsError.invalidIndex(path: path, reason: "top level is \(json.typeName), not an object")
        }
        guard case .object(let entries)? = root["weight_map"] else {
            throw WeightsError.invalidIndex(path: path, reason: "missing or non-object 'weight_map'")
        }
        guard !entries.isEmpty else {
            throw WeightsError.invalidIndex(path: path, reason: "'weight_map' is empty")
        }
        var weightMap: [String: String] = [:]
        for (tensor, value) in entries {
            guard case .string(let shardName) = value else {
                throw WeightsError.invalidIndex(
                    path: path, reason: "shard for tensor '\(tensor)' is \(value.typeName), not a file name")
            }
            weightMap[tensor] = shardName
        }
        return weightMap
    }

    /// Opens each distinct shard once, keyed by shard file name.
    private static func openShards(
        _ weightMap: [String: String], directory: URL, indexPath: String
    ) throws -> [String: SafeTensorsFile] {
        // One example tensor per shard makes errors about that shard actionable.
        var exampleTensor: [String: String] = [:]
        for (tensor, shardName) in weightMap.sorted(by: { $0.key < $1.key }) where exampleTensor[shardName] == nil {
            exampleTensor[shardName] = tensor
        }
        var shards: [String: SafeTensorsFile] = [:]
        for shardName in exampleTensor.keys.sorted() {
            let tensor = exampleTensor[shardName] ?? ""
            guard isPlainFileName(shardName) else {
                throw WeightsError.invalidIndex(
                    path: indexPath,
                    reason: "shard name '\(shardName)' (for tensor '\(tensor)') must be a plain file name "
                        + "in the checkpoint directory")
            }
            let shardURL = directory.appendingPathComponent(shardName)
            do {
                shards[shardName] = try SafeTensorsFile(url: shardURL)
            } catch WeightsError.fileNotFound {
                throw WeightsError.invalidIndex(
                    path: indexPath,
                    reason: "shard '\(shardName)' (holding tensor '\(tensor)') does not exist in \(directory.path)")
            }
        }
        return shards
    }

    /// Rejects anything that could resolve outside the checkpoint directory.
    private static func isPlainFileName(_ name: String) -> Bool {
        !name.isEmpty && !name.contains("/") && !name.contains("..") && !name.contains("\0")
    }
}
