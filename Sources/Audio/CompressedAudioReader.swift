import CFFmpeg
import Foundation

/// Audio FFmpeg's libraries read (MP3, FLAC, Ogg Vorbis and Opus, M4A/AAC, WebM/Opus as browsers
/// record, and WAV encodings our own reader does not take), decoded to float samples at the
/// file's own rate and channel layout: FFmpeg only decodes; downmixing and the torchaudio-exact
/// resampling stay ours.
public enum CompressedAudioReader {
    public struct Decoded: Sendable {
        /// Frame-major: channel `c` of frame `f` is at `f * channels + c`.
        public var interleavedSamples: [Float]
        public var channels: Int
        public var sampleRate: Int
        /// FFmpeg's name for the container ("mp3", "ogg", "matroska,webm", ...).
        public var container: String

        public func monoSamples() -> [Float] { WAVFile.mono(interleavedSamples, channels: channels) }
    }

    /// Decodes the best audio stream of `path`, stopping once `maxSeconds` are decoded; gives up
    /// after `timeout` seconds of wall time (a hostile file cannot hang the reader).
    public static func read(path: String, maxSeconds: Double? = nil, timeout: Double = 120) throws -> Decoded {
        FFmpegLog.silence()
        let deadline = Unmanaged.passRetained(Deadline(seconds: timeout))
        defer { deadline.release() }
        var format = avformat_alloc_context()
        guard format != nil else { throw AudioFileError.decodeFailed(path: path, reason: "out of memory") }
        format!.pointee.interrupt_callback = AVIOInterruptCB(
            callback: { opaque in
                Unmanaged<Deadline>.fromOpaque(opaque!).takeUnretainedValue().passed ? 1 : 0
            }, opaque: deadline.toOpaque())
        var status = avformat_open_input(&format, path, nil, nil)  // frees the context on failure
        guard status >= 0, let context = format else {
            if deadline.takeUnretainedValue().passed { throw AudioFileError.timedOut(path: path, seconds: timeout) }
            throw AudioFileError.notAudio(path: path, reason: message(status))
        }
        defer { avformat_close_input(&format) }
        let container = String(cString: context.pointee.iformat.pointee.name)
        status = avformat_find_stream_info(context, nil)
        guard status >= 0 else { throw AudioFileError.notAudio(path: path, reason: "\(container): \(message(status))") }
        var decoder: UnsafePointer<AVCodec>?
        let stream = av_find_best_stream(context, AVMEDIA_TYPE_AUDIO, -1, -1, &decoder, 0)
        guard stream >= 0, let decoder else {
            throw AudioFileError.notAudio(path: path, reason: "\(container) without an audio stream")
        }

        var codec = avcodec_alloc_context3(decoder)
        defer { avcodec_free_context(&codec) }
        guard let codec,
            avcodec_parameters_to_context(codec, context.pointee.streams[Int(stream)]!.pointee.codecpar) >= 0,
            avcodec_open2(codec, decoder, nil) >= 0
        else {
            throw AudioFileError.decodeFailed(
                path: path, reason: "cannot open the \(String(cString: decoder.pointee.name)) decoder")
        }
        let rate = Int(codec.pointee.sample_rate)
        let channels = Int(codec.pointee.ch_layout.nb_channels)
        guard rate > 0, channels > 0 else {
            throw AudioFileError.decodeFailed(
                path: path, reason: "the stream declares \(rate) Hz and \(channels) channels")
        }
        // Same layout and rate in and out: only the sample format changes (s16 → float is an
        // exact scaling by 2^-15, as our WAV reader's).
        var resampler: OpaquePointer?
        guard
            swr_alloc_set_opts2(
                &resampler, &codec.pointee.ch_layout, AV_SAMPLE_FMT_FLT, Int32(rate),
                &codec.pointee.ch_layout, codec.pointee.sample_fmt, Int32(rate), 0, nil) >= 0,
            swr_init(resampler) >= 0
        else {
            swr_free(&resampler)
            throw AudioFileError.decodeFailed(path: path, reason: "cannot convert its samples to float")
        }
        defer { swr_free(&resampler) }

        var packet = av_packet_alloc()
        var frame = av_frame_alloc()
        defer {
            av_packet_free(&packet)
            av_frame_free(&frame)
        }
        let limit = maxSeconds.map { Int(($0 * Double(rate)).rounded(.up)) * channels } ?? Int.max
        var samples: [Float] = []
        /// Takes every decoded frame; false once the limit is reached.
        func drain() throws -> Bool {
            while true {
                let r = avcodec_receive_frame(codec, frame)
                if r == cffmpeg_error_again() || r == cffmpeg_error_eof() { return true }
                guard r >= 0 else { throw AudioFileError.decodeFailed(path: path, reason: message(r)) }
                let n = Int(frame!.pointee.nb_samples)
                let start = samples.count
                samples.append(contentsOf: repeatElement(0, count: (n + 64) * channels))
                let converted = samples.withUnsafeMutableBufferPointer { buffer -> Int32 in
                    var out: UnsafeMutablePointer<UInt8>? = UnsafeMutableRawPointer(buffer.baseAddress! + start)
                        .assumingMemoryBound(to: UInt8.self)
                    let input = UnsafeMutableRawPointer(frame!.pointee.extended_data).assumingMemoryBound(
                        to: UnsafePointer<UInt8>?.self)
                    return swr_convert(resampler, &out, Int32(n + 64), input, Int32(n))
                }
                guard converted >= 0 else { throw AudioFileError.decodeFailed(path: path, reason: message(converted)) }
                samples.removeLast((n + 64 - Int(converted)) * channels)
                av_frame_unref(frame)
                if samples.count >= limit { return false }
            }
        }
        var more = true
        while more {
            status = av_read_frame(context, packet)
            if status < 0 { break }
            defer { av_packet_unref(packet) }
            guard packet!.pointee.stream_index == stream else { continue }
            // A damaged packet is skipped, as players do; the decoder resynchronises.
            let sent = avcodec_send_packet(codec, packet)
            if sent < 0 && sent != cffmpeg_error_again() && sent != -Int32(EINVAL) { continue }
            more = try drain()
        }
        if deadline.takeUnretainedValue().passed { throw AudioFileError.timedOut(path: path, seconds: timeout) }
        if more {
            avcodec_send_packet(codec, nil)
            _ = try drain()
        }
        if samples.count > limit { samples.removeLast(samples.count - limit) }
        guard !samples.isEmpty else {
            throw AudioFileError.decodeFailed(path: path, reason: "no audio could be decoded from it (\(container))")
        }
        return Decoded(interleavedSamples: samples, channels: channels, sampleRate: rate, container: container)
    }

    /// FFmpeg's sentence for an error code.
    static func message(_ code: Int32) -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        av_strerror(code, &buffer, buffer.count)
        return String(cString: buffer)
    }

    private final class Deadline {
        let end: UInt64
        init(seconds: Double) { end = DispatchTime.now().uptimeNanoseconds + UInt64(max(0, seconds) * 1e9) }
        var passed: Bool { DispatchTime.now().uptimeNanoseconds > end }
    }
}

public enum AudioFileError: Error, CustomStringConvertible, Equatable {
    case notAudio(path: String, reason: String)
    case decodeFailed(path: String, reason: String)
    case timedOut(path: String, seconds: Double)

    public var description: String {
        switch self {
        case .notAudio(let path, let reason): return "\(path) is not an audio file (\(reason))"
        case .decodeFailed(let path, let reason): return "cannot decode \(path): \(reason)"
        case .timedOut(let path, let seconds): return "decoding \(path) took longer than \(Int(seconds)) s; gave up"
        }
    }
}

/// FFmpeg's libraries print warnings and statistics to stderr themselves; every failure that
/// matters reaches the caller as an error, so they are kept quiet (a process-wide setting of the
/// library, made once).
enum FFmpegLog {
    private static let silenced: Void = { av_log_set_level(AV_LOG_QUIET) }()
    static func silence() { _ = silenced }
}
