import Foundation
import XCTest

@testable import Server

/// Mutation fuzzing of the request decoders, which take untrusted bytes: every mutant of a valid
/// request is either a request or a 4xx `APIError`. A trap (an out-of-range index, an overflow, a
/// bad cast) kills the test process, which is how this test fails. Seeded, so a failure repeats.
/// (This found multipart-kit's trap on a non-ASCII header-name byte.)
final class DecoderFuzzTests: XCTestCase {
    /// SplitMix64: small, seedable, good enough to pick mutations.
    struct Mutator {
        var state: UInt64

        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }

        mutating func below(_ n: Int) -> Int { Int(next() % UInt64(max(n, 1))) }

        /// Pieces that reach the decoders' edge cases: JSON syntax, escapes (lone surrogates,
        /// NUL), numbers that do not fit, multipart framing, invalid UTF-8.
        static let tokens: [[UInt8]] =
            [
                "\"", "{", "}", "[", "]", ":", ",", "\\", "\\u0000", "\\ud800", "\\udfff\\ud800", "1e999", "-0",
                "99999999999999999999999", "NaN", "null", "true", "\r\n", "--",
                "Content-Disposition: form-data; name=\"",
                "\"; filename=\"", "\r\n\r\n",
            ].map { Array($0.utf8) } + [[0xFF], [0xC0, 0x80], [0xED, 0xA0, 0x80], [0x00]]

        mutating func mutate(_ input: [UInt8]) -> [UInt8] {
            var bytes = input
            for _ in 0...below(4) {
                let at = below(bytes.count + 1)
                switch below(6) {
                case 0 where !bytes.isEmpty: bytes[min(at, bytes.count - 1)] = UInt8(truncatingIfNeeded: next())
                case 1: bytes.insert(contentsOf: Self.tokens[below(Self.tokens.count)], at: at)
                case 2: bytes.removeSubrange(at..<min(bytes.count, at + below(16) + 1))
                case 3:
                    let end = min(bytes.count, at + below(32))
                    bytes.insert(contentsOf: bytes[at..<end], at: below(bytes.count + 1))
                case 4: bytes = Array(bytes.prefix(at))
                default: bytes.insert(UInt8(truncatingIfNeeded: next()), at: at)
                }
            }
            return bytes
        }
    }

    func fuzz(seed: UInt64, count: Int, seeds: [[UInt8]], decode: ([UInt8]) throws(APIError) -> Void) {
        var mutator = Mutator(state: seed)
        var accepted = 0
        for i in 0..<count {
            let mutant = mutator.mutate(seeds[i % seeds.count])
            do {
                try decode(mutant)
                accepted += 1
            } catch {
                XCTAssert((400..<500).contains(error.status.code), "\(error.status) for \(mutant)")
                XCTAssertFalse(error.message.isEmpty)
            }
        }
        // Some mutants stay valid (a changed letter inside the input text); all of them failing
        // would mean the mutator only ever produced garbage.
        XCTAssertGreaterThan(accepted, 0)
    }

    func testSpeechRequestMutants() {
        let seeds = [
            #"{"model": "tts-1", "input": "Hello.", "voice": "alloy"}"#,
            #"{"model": "tts-1", "input": "你好", "voice": "nova", "instructions": "Calm.", "response_format": "wav", "speed": 1.0, "stream_format": "sse", "seed": 7}"#,
        ].map { Array($0.utf8) }
        // 20,000 mutants: 0.5 s in a debug build.
        fuzz(seed: 1, count: 20_000, seeds: seeds) { bytes throws(APIError) in _ = try SpeechRequest.decode(bytes) }
    }

    func testChatRequestMutants() {
        let audio = Data("RIFF....WAVE".utf8).base64EncodedString()
        let seeds = [
            #"{"model": "m", "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}]}"#,
            #"""
            {"model": "m", "modalities": ["text", "audio"], "audio": {"voice": "nova", "format": "wav"}, "stream": false,
             "messages": [{"role": "user", "content": [{"type": "input_audio", "input_audio": {"data": "\#(audio)", "format": "wav"}},
               {"type": "text", "text": "What?"}]}, {"role": "assistant", "audio": {"id": "audio_1.SGk"}},
               {"role": "user", "content": "More"}], "max_tokens": 9, "stop": ["x", "y"], "seed": 1, "top_p": 0.5}
            """#,
        ].map { Array($0.utf8) }
        // 20,000 mutants: about a second in a debug build.
        fuzz(seed: 3, count: 20_000, seeds: seeds) { bytes throws(APIError) in _ = try ChatRequest.decode(bytes) }
    }

    func testTranscriptionRequestMutants() {
        let contentType = "multipart/form-data; boundary=\(TranscriptionDecodingTests.boundary)"
        let seeds = [
            TranscriptionDecodingTests.body([("model", "whisper-1")]),
            TranscriptionDecodingTests.body([
                ("model", "m"), ("response_format", "verbose_json"), ("language", "zh"), ("temperature", "0.2"),
                ("stream", "true"),
            ]),
        ].map { Array($0) }
        // 5,000 mutants: 2.5 s in a debug build (multipart-kit's parser is the slow part).
        fuzz(seed: 2, count: 5_000, seeds: seeds) { bytes throws(APIError) in
            _ = try TranscriptionRequest.decode(bytes, contentType: contentType)
        }
        // The trap the fuzzer found, and boundaries the parser must not see.
        var header = Array(TranscriptionDecodingTests.body([("model", "m")]))
        header[header.firstIndex(of: UInt8(ascii: "C"))!] = 0xC3
        XCTAssertThrowsError(try TranscriptionRequest.decode(header, contentType: contentType)) {
            XCTAssertEqual(($0 as? APIError)?.code, "invalid_multipart")
        }
        for boundary in ["", String(repeating: "b", count: 71)] {
            XCTAssertThrowsError(
                try TranscriptionRequest.decode(seeds[0], contentType: "multipart/form-data; boundary=\"\(boundary)\"")
            ) { XCTAssertEqual(($0 as? APIError)?.code, "invalid_content_type") }
        }
    }

    /// Realtime client events arrive as WebSocket text (not checked as UTF-8 on the way in): every
    /// mutant is an event or an `error` with a code and a message.
    func testRealtimeEventMutants() {
        let pcm = Data(repeating: 1, count: 64).base64EncodedString()
        let seeds = [
            #"{"type": "session.update", "session": {"type": "realtime", "instructions": "Be brief.", "output_modalities": ["audio"], "audio": {"input": {"format": {"type": "audio/pcm", "rate": 24000}, "turn_detection": {"type": "server_vad", "threshold": 0.5, "prefix_padding_ms": 300, "silence_duration_ms": 500, "create_response": true}, "transcription": {"model": "whisper-1", "language": "en"}}, "output": {"voice": "nova"}}}}"#,
            #"{"type": "session.update", "session": {"modalities": ["text", "audio"], "input_audio_format": "pcm16", "turn_detection": null, "input_audio_transcription": {"model": "gpt-4o-transcribe"}, "voice": "alloy"}}"#,
            #"{"type": "input_audio_buffer.append", "audio": "\#(pcm)", "event_id": "e1"}"#,
            #"{"type": "conversation.item.create", "item": {"type": "message", "role": "user", "content": [{"type": "input_audio", "audio": "\#(pcm)"}]}}"#,
            #"{"type": "conversation.item.create", "item": {"role": "user", "content": [{"type": "input_text", "text": "Hi"}]}}"#,
            #"{"type": "conversation.item.truncate", "item_id": "item_1", "content_index": 0, "audio_end_ms": 1500}"#,
            #"{"type": "response.create"}"#,
        ].map { Array($0.utf8) }
        var mutator = Mutator(state: 4)
        var accepted = 0
        // 20,000 mutants: about a second in a debug build.
        for i in 0..<20_000 {
            let mutant = mutator.mutate(seeds[i % seeds.count])
            switch RealtimeEventDecoder.decode(String(decoding: mutant, as: UTF8.self)) {
            case .success: accepted += 1
            case .failure(let error):
                XCTAssertFalse(error.message.isEmpty, "\(mutant)")
                XCTAssertNotNil(error.code, "\(mutant)")
            }
        }
        XCTAssertGreaterThan(accepted, 0)
    }
}
