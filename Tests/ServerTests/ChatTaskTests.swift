import Foundation
import Logging
import MiMoAudio
import TestSupport
import XCTest

@testable import Server

/// Each way a chat request maps to a task, checked on the prompt grid the engine actually ran
/// (the start of the result's sequence) against the recipe built by hand.
final class ChatTaskTests: XCTestCase {
    static let pipeline = try! Pipeline(
        model: Fixtures.url("lm"), audioTokenizer: Fixtures.tokenizerDirectory, compute: Compute(threads: 2))
    static let wav = try! Data(contentsOf: Fixtures.url("test_audio.wav"))
    static let samples = try! AudioInput.load(Fixtures.url("test_audio.wav"), sampleRate: 24000)

    let engine = Engine(pipeline: pipeline, options: EngineOptions(prefixCacheBytes: 0))
    let replies = ReplyAudioCache()
    var service: ChatService {
        ChatService(maxNewTokens: 64, voices: try! VoiceBook(), replies: replies, logger: Logger(label: "test"))
    }

    static let audioPart =
        #"{"type": "input_audio", "input_audio": {"data": "\#(wav.base64EncodedString())", "format": "wav"}}"#

    /// The grid the engine prefilled for `json`, and the one `segments` make.
    func prompts(_ json: String, expected segments: [PromptSegment], file: StaticString = #filePath, line: UInt = #line)
        async throws
    {
        let chat = try ChatRequest.decode(Array(json.utf8))
        var request = try service.taskRequest(chat, engine: engine)
        request.maxNewTokens = 1
        var result: TaskResult?
        for try await event in engine.run(request) { if case .finished(let r) = event { result = r } }
        let ran = try XCTUnwrap(result, file: file, line: line)
        let gs = Self.pipeline.lm.config.groupSize
        let received = ran.sequence.slice(0..<(ran.usage.promptGroups * gs))
        XCTAssertEqual(received, try Self.pipeline.prompts.grid(segments), json, file: file, line: line)
    }

    var audio: LMAudio { get throws { try Self.pipeline.lmAudio(samples: Self.samples) } }

    func testTextInTextOutIsTextDialogueWithTheSystemInTheFirstTurn() async throws {
        try await prompts(
            #"""
            {"model": "m", "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"},
              {"role": "assistant", "content": "Hello."}, {"role": "user", "content": "More?"}]}
            """#,
            expected: TaskPrompts.textDialogue(
                [.user("Be brief.\n\nHi"), .assistant("Hello."), .user("More?")], thinking: false))
    }

    func testOneTurnWithAudioAndAQuestionIsAudioUnderstanding() async throws {
        try await prompts(
            #"""
            {"model": "m", "reasoning_effort": "high",
             "messages": [{"role": "user", "content": [\#(Self.audioPart), {"type": "text", "text": "What is it?"}]}]}
            """#,
            expected: TaskPrompts.audioUnderstanding(try audio, question: "What is it?", thinking: true))
    }

    /// Our extension: a typed user turn among spoken ones is a text user turn of the same recipe.
    func testSpeechToTextDialogueWithATypedTurn() async throws {
        try await prompts(
            #"""
            {"model": "m", "messages": [{"role": "user", "content": [\#(Self.audioPart)]},
              {"role": "assistant", "content": "Hi."}, {"role": "user", "content": "Why?"}]}
            """#,
            expected: [
                .text("<|im_start|>user\n"), .audio(try audio), .text("<|im_end|>\n"),
                .text("<|im_start|>assistant\n"), .text("Hi."), .text("<|im_end|>\n"),
                .text("<|im_start|>user\n"), .text("Why?"), .text("<|im_end|>\n"),
                .text("<|im_start|>assistant\n"), .text("<think>\n\n</think>\n"),
            ])
    }

    func testSpokenDialogueTakesTheVoiceStyleAndAKnownReplyAsItsSpeech() async throws {
        let alloy = try VoiceBook().voice("alloy").english
        try await prompts(
            #"""
            {"model": "m", "modalities": ["text", "audio"], "audio": {"voice": "alloy", "format": "wav"},
             "messages": [{"role": "system", "content": "Be kind."}, {"role": "user", "content": [\#(Self.audioPart)]}]}
            """#,
            expected: TaskPrompts.spokenDialogue([.user(try audio)], system: "Be kind.\n" + alloy, voice: nil))

        // A reply this replica kept is given as the speech it was; the typed turn after it is a
        // text user turn (literal segments: the recipe's layout, spelled out).
        let reply = LMAudio(frames: Array(try audio.frames.prefix(8)))
        let id = ReplyAudioCache.newID(transcript: "Hi.")
        replies.store(reply, transcript: "Hi.", id: id)
        let conversation = #"""
            {"model": "m", "modalities": ["text", "audio"],
             "messages": [{"role": "user", "content": [\#(Self.audioPart)]}, {"role": "assistant", "audio": {"id": "\#(id)"}},
              {"role": "user", "content": "And?"}]}
            """#
        try await prompts(
            conversation,
            expected: [
                .text("<|im_start|>user\n"), .text(alloy), .text("\n\n"), .audio(try audio), .text("<|im_end|>\n"),
                .text("<|im_start|>assistant\n"), .stream(text: "Hi.", audio: reply), .text("<|im_end|>\n"),
                .text("<|im_start|>user\n"), .text("And?"), .text("<|im_end|>\n"),
                .text("<|im_start|>assistant\n<|sostm|>"),
            ])

        // The same id elsewhere (another replica, or after expiry): the transcript it carries, as text.
        let elsewhere = ChatService(
            maxNewTokens: 64, voices: try VoiceBook(), replies: ReplyAudioCache(), logger: Logger(label: "test"))
        let chat = try ChatRequest.decode(Array(conversation.utf8))
        guard case .spokenDialogue(let c) = try elsewhere.taskRequest(chat, engine: engine).task else {
            return XCTFail("not a spoken dialogue")
        }
        XCTAssertEqual(c.turns[1], .assistant(text: "Hi.", audio: nil))
    }

    func testLimitsAndUnknownVoices() throws {
        let base = #""model": "m", "messages": [{"role": "user", "content": "Hi"}]"#
        XCTAssertThrowsError(
            try service.taskRequest(ChatRequest.decode(Array(#"{\#(base), "max_tokens": 65}"#.utf8)), engine: engine)
        ) { XCTAssertEqual(($0 as? APIError)?.param, "max_completion_tokens") }
        XCTAssertThrowsError(
            try service.taskRequest(
                ChatRequest.decode(Array(#"{\#(base), "modalities": ["audio"], "audio": {"voice": "bob"}}"#.utf8)),
                engine: engine)
        ) { XCTAssertEqual(($0 as? APIError)?.param, "voice") }
        let bad =
            #"{"type": "input_audio", "input_audio": {"data": "\#(Data("not audio".utf8).base64EncodedString())"}}"#
        XCTAssertThrowsError(
            try service.taskRequest(
                ChatRequest.decode(
                    Array(#"{"model": "m", "messages": [{"role": "user", "content": [\#(bad)]}]}"#.utf8)),
                engine: engine)
        ) {
            XCTAssertEqual(($0 as? APIError)?.param, "messages[0].content.input_audio.data")
            XCTAssertEqual(($0 as? APIError)?.code, "invalid_audio")
        }
    }
}
