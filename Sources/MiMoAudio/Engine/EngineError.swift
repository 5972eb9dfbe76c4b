public enum EngineError: Error, CustomStringConvertible, Equatable {
    case queueFull(capacity: Int)
    case templateIndexOutOfRange(index: Int, count: Int)
    case noUserTurn
    case assistantTurnAfterHistory
    case noExamples
    case noStopTokens
    case stopTokenOutOfRange(id: Int, vocab: Int)
    case invalidChunk(Int)

    public var description: String {
        switch self {
        case .queueFull(let n): return "the engine's queue is full (\(n) requests waiting); try again later"
        case .templateIndexOutOfRange(let index, let count):
            return "template index \(index) is outside 0..<\(count) for this task"
        case .noUserTurn: return "the conversation must end with a user turn to answer"
        case .assistantTurnAfterHistory:
            return "after a history, only new user turns may follow (the history holds the replies)"
        case .noExamples: return "in-context learning needs at least one example"
        case .noStopTokens: return "give at least one stop token"
        case .stopTokenOutOfRange(let id, let vocab): return "stop token \(id) is outside the vocabulary 0..<\(vocab)"
        case .invalidChunk(let n): return "the streaming chunk must be 1...1500 frames, got \(n)"
        }
    }
}
