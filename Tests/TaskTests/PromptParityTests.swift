import Foundation
import MiMoAudio
import TestSupport
import XCTest

/// Every task prompt the reference builds (tasks/index.json), rebuilt from a `TaskRequest` by
/// the engine's recipes and compared column for column: with the tiny tokenizer, and with the
/// real 151k vocabulary.
final class PromptParityTests: XCTestCase {
    struct Task: Decodable {
        struct Choice: Decodable {
            let picked: String
            let pickedIndex: Int
            enum CodingKeys: String, CodingKey {
                case picked
                case pickedIndex = "picked_index"
            }
        }
        let name: String
        let method: String
        let kwargs: [String: JSONValue]
        let randomChoice: [Choice]
        let tensor: String
        enum CodingKeys: String, CodingKey {
            case name, method, kwargs
            case randomChoice = "random_choice"
            case tensor
        }
    }

    /// A minimal JSON value for the heterogeneous kwargs.
    enum JSONValue: Decodable {
        case string(String)
        case bool(Bool)
        case array([JSONValue])
        case object([String: JSONValue])
        case null
        init(from decoder: Decoder) throws {
            let c = try decoder.singleValueContainer()
            if c.decodeNil() {
                self = .null
            } else if let b = try? c.decode(Bool.self) {
                self = .bool(b)
            } else if let s = try? c.decode(String.self) {
                self = .string(s)
            } else if let a = try? c.decode([JSONValue].self) {
                self = .array(a)
            } else {
                self = .object(try c.decode([String: JSONValue].self))
            }
        }
        var string: String? { if case .string(let s) = self { return s } else { return nil } }
        var bool: Bool? { if case .bool(let b) = self { return b } else { return nil } }
        var array: [JSONValue] { if case .array(let a) = self { return a } else { return [] } }
        subscript(_ key: String) -> JSONValue? { if case .object(let o) = self { return o[key] } else { return nil } }
    }

    static let tasks: [Task] = {
        struct Index: Decodable { let tasks: [Task] }
        let data = try! Data(contentsOf: Fixtures.url("tasks/index.json"))
        return try! JSONDecoder().decode(Index.self, from: data).tasks
    }()

    /// Prompt building needs the text tokenizer, the LM's config and the codec, not LM weights.
    struct Builder {
        let prompts: PromptBuilder
        let codec: AudioTokenizer

        init(text: String) throws {
            let config = try LMConfig(contentsOf: Fixtures.url("lm/config.json"))
            prompts = try PromptBuilder(tokenizer: try TextTokenizer(directory: Fixtures.url(text)), config: config)
            codec = try Fixtures.tokenizer()
        }

        func lmAudio(_ url: URL) throws -> LMAudio {
            try LMAudio(samples: try AudioInput.load(url, sampleRate: 24000), codec: codec, config: prompts.config)
        }
    }

    func testAudioInputsArePaddedAsTheReferenceDoes() throws {
        let builder = try Builder(text: "lm")
        let g = try Fixtures.goldens("tasks/prompts.safetensors")
        for (file, name) in [("test_audio.wav", "test_audio"), ("tasks/clip2.wav", "clip2")] {
            XCTAssertEqual(try builder.lmAudio(Fixtures.url(file)).frames, try g.intRows("audio_tokens.\(name)"), file)
        }
    }

    func testEveryTaskPromptWithTheTinyTokenizer() throws {
        try check(text: "lm", goldens: "tasks/prompts.safetensors")
    }

    func testEveryTaskPromptWithTheRealVocabulary() throws {
        try check(text: "text-tokenizer", goldens: "tasks/prompts_real_text_vocab.safetensors")
    }

    func check(text: String, goldens: String) throws {
        let pipeline = try Builder(text: text)
        let g = try Fixtures.goldens(goldens)
        XCTAssertEqual(Self.tasks.count, 29)
        var audioCache: [String: LMAudio] = [:]
        func audio(_ path: String?) throws -> LMAudio {
            let path = try XCTUnwrap(path)
            if let cached = audioCache[path] { return cached }
            let a = try pipeline.lmAudio(Fixtures.url(path))
            audioCache[path] = a
            return a
        }
        for task in Self.tasks {
            let k = task.kwargs
            let source = { (path: String?) throws -> AudioSource in .codes(try audio(path)) }
            let request: TaskRequest.Task
            switch task.method {
            case "MimoAudio.get_asr_sft_prompt":
                request = .asr(try source(k["input"]?.string))
            case "MimoAudio.get_tts_sft_prompt":
                request = .tts(
                    text: try XCTUnwrap(k["input"]?.string), instruct: k["instruct"]?.string,
                    voice: try k["prompt_speech"]?.string.map { try source($0) },
                    natural: k["read_text_only"]?.bool == false)
            case "MimoAudio.get_audio_understanding_sft_prompt":
                request = .audioQuestion(
                    try source(k["input_speech"]?.string), question: try XCTUnwrap(k["input_text"]?.string),
                    thinking: k["thinking"]?.bool ?? false)
            case "MimoAudio.get_s2t_dialogue_sft_prompt":
                request = .speechToTextDialogue(
                    Conversation(turns: [.user(try source(k["input_speech"]?.string))]),
                    thinking: k["thinking"]?.bool ?? false)
            case "MimoAudio.get_s2t_dialogue_sft_multiturn_prompt":
                let turns: [DialogueTurn] = try k["message_list"]!.array.map {
                    $0["role"]?.string == "user"
                        ? .user(try source($0["content"]?.string))
                        : .assistant(text: try XCTUnwrap($0["content"]?.string), audio: nil)
                }
                request = .speechToTextDialogue(Conversation(turns: turns), thinking: k["thinking"]?.bool ?? false)
            case "MimoAudio.get_spoken_dialogue_sft_prompt":
                let user = DialogueTurn.user(try source(k["input_speech"]?.string))
                if k["add_history"]?.bool == true {
                    // The golden holds the appended turn only: continue an empty history.
                    request = .spokenDialogue(
                        Conversation(turns: [user], history: TokenGrid(rows: Array(repeating: [], count: 9))))
                } else {
                    request = .spokenDialogue(
                        Conversation(
                            turns: [user], system: k["system_prompt"]?.string,
                            voice: try k["prompt_speech"]?.string.map { try source($0) }))
                }
            case "MimoAudio.get_spoken_dialogue_sft_multiturn_prompt":
                let turns: [DialogueTurn] = try k["message_list"]!.array.map { m in
                    if m["role"]?.string == "user" { return .user(try source(m["content"]?.string)) }
                    return .assistant(
                        text: try XCTUnwrap(m["content"]?["text"]?.string),
                        audio: try source(m["content"]?["audio"]?.string))
                }
                request = .spokenDialogue(
                    Conversation(
                        turns: turns, system: k["system_prompt"]?.string,
                        voice: try k["prompt_speech"]?.string.map { try source($0) }))
            case "MimoAudio.get_text_dialogue_sft_prompt":
                request = .textDialogue(
                    [.user(try XCTUnwrap(k["input_text"]?.string))], thinking: k["thinking"]?.bool ?? false)
            case "MimoAudio.get_text_dialogue_sft_multiturn_prompt":
                let messages: [TaskPrompts.ChatMessage] = try k["message_list"]!.array.map {
                    let text = try XCTUnwrap($0["content"]?.string)
                    return $0["role"]?.string == "user" ? .user(text) : .assistant(text)
                }
                request = .textDialogue(messages, thinking: k["thinking"]?.bool ?? false)
            case "MimoAudio.get_in_context_learning_s2s_prompt":
                let examples = try k["prompt_examples"]!.array.map {
                    ICLExample(
                        input: try source($0["input_audio"]?.string), output: try source($0["output_audio"]?.string),
                        transcript: try XCTUnwrap($0["output_transcription"]?.string))
                }
                request = .inContextLearning(
                    instruction: try XCTUnwrap(k["instruction"]?.string), examples: examples,
                    query: try source(k["audio"]?.string))
            default:
                XCTFail("no recipe for \(task.method)")
                continue
            }
            // The engine's recipe, with the template the reference drew pinned by its index.
            let grid = try TaskRequest(request, templateIndex: task.randomChoice.first?.pickedIndex)
                .prompt(pipeline.prompts) { source in
                    guard case .codes(let a) = source else { throw PromptError.emptyAudio }
                    return a
                }
            XCTAssertEqual(grid.rows, try g.intRows(task.tensor), "\(task.name) (\(text))")
            // The template the reference drew is entry `picked_index` of the list we expose.
            if let choice = task.randomChoice.first {
                let list = task.method.contains("asr") ? Templates.asr : Templates.tts(for: k["input"]?.string ?? "")
                XCTAssertEqual(list[choice.pickedIndex], choice.picked, task.name)
            }
        }
    }
}
