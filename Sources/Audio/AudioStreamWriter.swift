import CFFmpeg
import Foundation

/// The containers and codecs audio is written in.
public enum AudioFileFormat: String, CaseIterable, Sendable {
    case wav, pcm, flac, mp3, opus, aac, m4a

    /// From a file name's extension (`.ogg` holds Opus, `.aac` is ADTS, `.raw` is raw PCM).
    public init?(fileExtension ext: String) {
        switch ext.lowercased() {
        case "wav", "wave": self = .wav
        case "pcm", "raw": self = .pcm
        case "flac": self = .flac
        case "mp3": self = .mp3
        case "opus", "ogg": self = .opus
        case "aac": self = .aac
        case "m4a", "mp4": self = .m4a
        default: return nil
        }
    }

    /// FFmpeg's muxer and encoder for the compressed formats.
    var ffmpeg: (muxer: String, encoder: String, bitRate: Int)? {
        switch self {
        case .wav, .pcm: return nil
        case .flac: return ("flac", "flac", 0)
        case .mp3: return ("mp3", "libmp3lame", 64_000)
        case .opus: return ("ogg", "libopus", 48_000)
        case .aac: return ("adts", "aac", 64_000)
        case .m4a: return ("mp4", "aac", 64_000)
        }
    }
}

/// Writes mono audio chunk by chunk, as it is generated, in any `AudioFileFormat`: to a file, or
/// to a stream of bytes (stdout, a network response) that never needs to seek — WAV then carries
/// the streaming convention's 0xFFFFFFFF sizes, M4A is fragmented. Compressed formats go through
/// FFmpeg's encoders and muxers.
public final class AudioStreamWriter {
    public enum Destination {
        case file(String)
        /// Each piece of the encoded stream, in order; a thrown error ends the writing.
        case stream((Data) throws -> Void)
    }

    public let format: AudioFileFormat
    public let sampleRate: Int
    private let destination: Destination
    private var wavFile: WAVStreamWriter?
    private var encoder: FFmpegEncoder?
    private var finished = false

    /// `sampleFormat` applies to WAV (raw PCM is always 16-bit).
    public init(
        format: AudioFileFormat, sampleRate: Int, destination: Destination, sampleFormat: WAVWriter.SampleFormat = .s16
    ) throws {
        self.format = format
        self.sampleRate = sampleRate
        self.destination = destination
        switch (format, destination) {
        case (.wav, .file(let path)):
            wavFile = try WAVStreamWriter(url: URL(fileURLWithPath: path), sampleRate: sampleRate, format: sampleFormat)
        case (.wav, .stream(let emit)):
            let header = WAVWriter.streamingHeader(
                sampleRate: try WAVWriter.checkedSampleRate(sampleRate, format: sampleFormat), format: sampleFormat)
            try emit(header)
            wavStreamFormat = sampleFormat
        case (.pcm, .file(let path)):
            try FileOutput.write(Data(), to: path)
        case (.pcm, .stream):
            break
        default:
            encoder = try FFmpegEncoder(format: format, sampleRate: sampleRate, destination: destination)
        }
    }

    private var wavStreamFormat: WAVWriter.SampleFormat = .s16
    private var wavStreamSamples = 0

    public func write(_ samples: [Float]) throws {
        guard !finished else { throw WAVError.streamAlreadyFinalized }
        guard !samples.isEmpty else { return }
        if let bad = samples.firstIndex(where: { !$0.isFinite }) {
            throw AudioWriteError.nonFiniteSample(index: bad)
        }
        if let wavFile { return try wavFile.append(samples) }
        if let encoder { return try encoder.encode(samples) }
        var data = Data()
        if format == .wav {
            try WAVWriter.appendSamples(samples, firstIndex: wavStreamSamples, format: wavStreamFormat, to: &data)
            wavStreamSamples += samples.count
        } else {
            data.reserveCapacity(samples.count * 2)
            for s in samples { withUnsafeBytes(of: WAVWriter.pcm16(s).littleEndian) { data.append(contentsOf: $0) } }
        }
        switch destination {
        case .stream(let emit): try emit(data)
        case .file(let path): try FileOutput.append(data, to: path)
        }
    }

    /// Ends the stream: the WAV header's sizes, the encoder's last frames, the container's trailer.
    public func finish() throws {
        guard !finished else { return }
        finished = true
        try wavFile?.finalize()
        try encoder?.finish()
    }
}

public enum AudioWriteError: Error, CustomStringConvertible, Equatable {
    case encoderUnavailable(String)
    case encodingFailed(String)
    case nonFiniteSample(index: Int)

    public var description: String {
        switch self {
        case .encoderUnavailable(let what): return "this FFmpeg build cannot write \(what)"
        case .encodingFailed(let why): return "encoding the audio failed: \(why)"
        case .nonFiniteSample(let index):
            return "the generated audio has a non-finite sample at \(index) (a model output fault)"
        }
    }
}

/// One FFmpeg encoder and muxer fed mono float samples.
private final class FFmpegEncoder {
    private var container: UnsafeMutablePointer<AVFormatContext>?
    private var codec: UnsafeMutablePointer<AVCodecContext>?
    private var converter: OpaquePointer?
    private let stream: UnsafeMutablePointer<AVStream>
    private let frameSize: Int
    private let smallLastFrame: Bool
    private var pending: [Float] = []
    private var pts: Int64 = 0
    private let output: Output

    /// Where the muxer's bytes go; keeps the first error of the destination.
    final class Output {
        let emit: ((Data) throws -> Void)?
        var error: Error?
        init(_ emit: ((Data) throws -> Void)?) { self.emit = emit }
    }
    private var retainedOutput: Unmanaged<Output>?

    init(format: AudioFileFormat, sampleRate: Int, destination: AudioStreamWriter.Destination) throws {
        FFmpegLog.silence()
        let spec = format.ffmpeg!
        guard let encoderCodec = avcodec_find_encoder_by_name(spec.encoder) else {
            throw AudioWriteError.encoderUnavailable("\(format.rawValue) (no \(spec.encoder) encoder)")
        }
        guard avformat_alloc_output_context2(&container, nil, spec.muxer, nil) >= 0, let container else {
            throw AudioWriteError.encoderUnavailable("\(format.rawValue) (no \(spec.muxer) muxer)")
        }
        switch destination {
        case .file(let path):
            output = Output(nil)
            let status = avio_open(&container.pointee.pb, path, AVIO_FLAG_WRITE)
            guard status >= 0 else {
                avformat_free_context(container)
                throw WAVError.writeFailed(path: path, reason: CompressedAudioReader.message(status))
            }
        case .stream(let emit):
            output = Output(emit)
            let retained = Unmanaged.passRetained(output)
            retainedOutput = retained
            let size = 4096
            let buffer = av_malloc(size)!.assumingMemoryBound(to: UInt8.self)
            container.pointee.pb = avio_alloc_context(
                buffer, Int32(size), 1, retained.toOpaque(), nil,
                { opaque, bytes, count in
                    let output = Unmanaged<Output>.fromOpaque(opaque!).takeUnretainedValue()
                    guard output.error == nil else { return -Int32(EIO) }
                    do { try output.emit!(Data(bytes: bytes!, count: Int(count))) } catch {
                        output.error = error
                        return -Int32(EIO)
                    }
                    return count
                }, nil)
            container.pointee.flags |= AVFMT_FLAG_CUSTOM_IO
        }
        let codec = avcodec_alloc_context3(encoderCodec)!
        self.codec = codec
        codec.pointee.sample_rate = Int32(sampleRate)
        av_channel_layout_default(&codec.pointee.ch_layout, 1)
        codec.pointee.sample_fmt = Self.sampleFormat(encoderCodec)
        codec.pointee.time_base = AVRational(num: 1, den: Int32(sampleRate))
        if spec.bitRate > 0 { codec.pointee.bit_rate = Int64(spec.bitRate) }
        if container.pointee.oformat.pointee.flags & AVFMT_GLOBALHEADER != 0 {
            codec.pointee.flags |= Int32(1 << 22)  // AV_CODEC_FLAG_GLOBAL_HEADER
        }
        var status = avcodec_open2(codec, encoderCodec, nil)
        guard status >= 0 else {
            throw AudioWriteError.encodingFailed(
                "cannot open \(spec.encoder) at \(sampleRate) Hz: \(CompressedAudioReader.message(status))")
        }
        stream = avformat_new_stream(container, nil)
        avcodec_parameters_from_context(stream.pointee.codecpar, codec)
        stream.pointee.time_base = codec.pointee.time_base
        frameSize = codec.pointee.frame_size > 0 ? Int(codec.pointee.frame_size) : 1024
        smallLastFrame = encoderCodec.pointee.capabilities & Int32(1 << 6 | 1 << 16) != 0
        var options: OpaquePointer?
        if format == .m4a, case .stream = destination {
            // Nothing to seek back to: a fragmented MP4 is playable while it is written.
            av_dict_set(&options, "movflags", "frag_keyframe+empty_moov+default_base_moof", 0)
        }
        if format == .opus {
            // Ogg pages of 100 ms instead of 1 s: a listener (or a cut-off stream) gets audio sooner.
            av_dict_set(&options, "page_duration", "100000", 0)
        }
        status = avformat_write_header(container, &options)
        av_dict_free(&options)
        guard status >= 0 else { throw failure("writing the \(spec.muxer) header", status) }
        var mono = AVChannelLayout()
        av_channel_layout_default(&mono, 1)
        guard
            swr_alloc_set_opts2(
                &converter, &codec.pointee.ch_layout, codec.pointee.sample_fmt, Int32(sampleRate),
                &mono, AV_SAMPLE_FMT_FLT, Int32(sampleRate), 0, nil) >= 0, swr_init(converter) >= 0
        else {
            throw AudioWriteError.encodingFailed("cannot convert float samples for \(spec.encoder)")
        }
    }

    deinit {
        swr_free(&converter)
        avcodec_free_context(&codec)
        if let container {
            if container.pointee.flags & AVFMT_FLAG_CUSTOM_IO != 0 {
                if let pb = container.pointee.pb {
                    withUnsafeMutablePointer(to: &pb.pointee.buffer) { av_freep($0) }
                    var p: UnsafeMutablePointer<AVIOContext>? = pb
                    avio_context_free(&p)
                }
            } else {
                avio_closep(&container.pointee.pb)
            }
            avformat_free_context(container)
        }
        retainedOutput?.release()
    }

    /// The encoder's preferred sample format: float if it takes it, else 16-bit.
    private static func sampleFormat(_ codec: UnsafePointer<AVCodec>) -> AVSampleFormat {
        var formats: [AVSampleFormat] = []
        if var p = codec.pointee.sample_fmts {
            while p.pointee.rawValue != -1 {
                formats.append(p.pointee)
                p += 1
            }
        }
        for preferred in [AV_SAMPLE_FMT_FLT, AV_SAMPLE_FMT_FLTP, AV_SAMPLE_FMT_S16, AV_SAMPLE_FMT_S16P]
        where formats.contains(preferred) {
            return preferred
        }
        return formats.first ?? AV_SAMPLE_FMT_S16
    }

    func encode(_ samples: [Float]) throws {
        pending += samples
        var offset = 0
        while pending.count - offset >= frameSize {
            try send(Array(pending[offset..<(offset + frameSize)]))
            offset += frameSize
        }
        pending.removeFirst(offset)
        avio_flush(container!.pointee.pb)  // a listener hears it now
        if let error = output.error { throw error }
    }

    func finish() throws {
        if !pending.isEmpty {
            var last = pending
            if !smallLastFrame { last += [Float](repeating: 0, count: frameSize - last.count) }
            try send(last)
            pending = []
        }
        try send(nil)
        let status = av_write_trailer(container)
        guard status >= 0 else { throw failure("writing the trailer", status) }
        avio_flush(container!.pointee.pb)
        if let error = output.error { throw error }
        if container!.pointee.flags & AVFMT_FLAG_CUSTOM_IO == 0 {
            let closed = avio_closep(&container!.pointee.pb)
            guard closed >= 0 else { throw failure("closing the file", closed) }
        }
    }

    /// Encodes one frame (nil: flush) and muxes every packet that comes out.
    private func send(_ samples: [Float]?) throws {
        var status: Int32
        if let samples {
            var frame = av_frame_alloc()
            defer { av_frame_free(&frame) }
            frame!.pointee.nb_samples = Int32(samples.count)
            frame!.pointee.format = codec!.pointee.sample_fmt.rawValue
            frame!.pointee.sample_rate = codec!.pointee.sample_rate
            av_channel_layout_copy(&frame!.pointee.ch_layout, &codec!.pointee.ch_layout)
            guard av_frame_get_buffer(frame, 0) >= 0 else { throw AudioWriteError.encodingFailed("out of memory") }
            let converted = samples.withUnsafeBufferPointer { input -> Int32 in
                var inputPointer: UnsafePointer<UInt8>? = UnsafeRawPointer(input.baseAddress!).assumingMemoryBound(
                    to: UInt8.self)
                return swr_convert(
                    converter, frame!.pointee.extended_data, Int32(samples.count), &inputPointer, Int32(samples.count))
            }
            guard converted == Int32(samples.count) else {
                throw AudioWriteError.encodingFailed("sample conversion gave \(converted) of \(samples.count)")
            }
            frame!.pointee.pts = pts
            pts += Int64(samples.count)
            status = avcodec_send_frame(codec, frame)
        } else {
            status = avcodec_send_frame(codec, nil)
        }
        guard status >= 0 else { throw failure("encoding", status) }
        var packet = av_packet_alloc()
        defer { av_packet_free(&packet) }
        while true {
            status = avcodec_receive_packet(codec, packet)
            if status == cffmpeg_error_again() || status == cffmpeg_error_eof() { return }
            guard status >= 0 else { throw failure("encoding", status) }
            av_packet_rescale_ts(packet, codec!.pointee.time_base, stream.pointee.time_base)
            packet!.pointee.stream_index = stream.pointee.index
            status = av_interleaved_write_frame(container, packet)
            guard status >= 0 else { throw failure("writing", status) }
        }
    }

    private func failure(_ what: String, _ status: Int32) -> Error {
        output.error ?? AudioWriteError.encodingFailed("\(what): \(CompressedAudioReader.message(status))")
    }
}
