import Audio
import Foundation
import MiMoAudio

/// Runs a checked speech request on the engine and encodes what it says.
struct SpeechService: Sendable {
    let maxNewTokens: Int
    /// Testing only (`--force-speech-steps`, `--force-text-steps`).
    var forcedSteps: ForcedSteps?

    /// The engine request for `speech`: instruct-TTS with the named voice's style in the text's
    /// language (or the request's own `instructions`), the voice's prompt if it has one, the
    /// first instruction template and a seed from the voice and text, so a voice is repeatable.
    func taskRequest(_ speech: SpeechRequest, voice: VoiceBook.Voice, engine: Engine) throws -> TaskRequest {
        var prompt: AudioSource?
        if let url = voice.prompt {
            let codec = try engine.pipeline.requireCodec()
            prompt = .samples(try AudioInput.load(url, sampleRate: codec.sampleRate, maxSeconds: 60))
        }
        let instruct = speech.instructions ?? voice.instruction(for: speech.input)
        var request = TaskRequest(
            .tts(text: speech.input, instruct: instruct, voice: prompt), seed: speech.effectiveSeed,
            maxNewTokens: maxNewTokens, templateIndex: 0)
        request.audioDelivery = speech.streamFormat == nil ? .whole : .streamed(chunkFrames: 20)
        request.forcedSteps = forcedSteps
        return request
    }

    /// Generated samples, encoded whole in the requested format.
    static func encode(_ samples: [Float], format: AudioFileFormat, sampleRate: Int) throws -> Data {
        var data = Data()
        let writer = try AudioStreamWriter(
            format: format, sampleRate: sampleRate, destination: .stream { data.append($0) })
        try writer.write(samples)
        try writer.finish()
        return data
    }

    static func contentType(_ format: AudioFileFormat) -> String {
        switch format {
        case .mp3: return "audio/mpeg"
        case .wav: return "audio/wav"
        case .flac: return "audio/flac"
        case .opus: return "audio/ogg"
        case .aac: return "audio/aac"
        case .m4a: return "audio/mp4"
        case .pcm: return "audio/pcm"
        }
    }
}
