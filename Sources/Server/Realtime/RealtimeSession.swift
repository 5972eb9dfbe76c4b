import Audio
import Foundation
import Logging
import MiMoAudio
import VAD

/// One realtime conversation: the session's settings, the input audio buffer, the conversation
/// items, and the response being generated. The reference's multi-turn spoken dialogue runs with
/// the previous response's whole sequence as history (`Conversation.history`), so each turn
/// prefills only the new user turns and the engine's prefix cache supplies the rest.
actor RealtimeSession {
    struct Settings {
        var instructions = ""
        var outputModalities = ["audio"]
        var voice = "alloy"
        var turnDetection: RealtimeSessionUpdate.TurnDetection = .serverVAD(RealtimeVADSettings())
        var transcription: InputTranscription?
    }

    /// A user turn not yet answered.
    enum Pending {
        case audio([Float])
        case text(String)
    }

    /// A finished assistant turn, kept so the next turn can continue it and a truncate can cut it.
    struct Reply {
        var itemID: String
        /// The prompt it answered and what it generated.
        var prompt: TokenGrid
        var generated: TokenGrid
        /// Spoken (closed with `<|eostm|>`) or text (closed with `<|im_end|>`).
        var speaks = true
    }

    struct Running {
        var task: Task<Void, Never>
        var stop: StopSignal
        var itemID: String
        /// A truncate that came while the cancelled response was still ending: applied at its end.
        var cut: Int?
        /// Set on cancel or barge-in: no audio delta goes out after it.
        var cancelled = false
    }

    let id = RealtimeSession.newID("sess")
    let engine: @Sendable () throws -> Engine
    /// The server's: voices, model names, the response length, forced steps (tests).
    let configuration: ServerConfiguration
    let logger: Logger
    private let send: @Sendable ([String: Any]) async -> Void
    private var settings = Settings()
    private var buffer: [Float] = []
    private var pending: [(itemID: String, turn: Pending)] = []
    private var last: Reply?
    private var running: Running?
    private var events = 0
    /// Server VAD: the detector, and where the stream is (24 kHz samples since the session began).
    private var detector: SpeechDetector?
    private var vad = VADState()
    private var bufferStart = 0
    private var respondWhenDone = false
    /// Committed audio turns whose transcript is still to be asked for (after the response they
    /// get, so the reply does not wait for it), and the transcriptions running.
    private var untranscribed: [(itemID: String, samples: [Float])] = []
    private var transcriptions: [String: Task<Void, Never>] = [:]

    struct VADState {
        var speaking = false
        var silenceMs = 0
        var startMs = 0
        var itemID = ""
        /// Milliseconds of the stream the detector has judged.
        var judgedMs = 0
    }
    /// The longest input buffer kept (10 minutes of 24 kHz audio).
    static let maxBufferSamples = 24_000 * 600

    init(
        engine: @escaping @Sendable () throws -> Engine, configuration: ServerConfiguration, logger: Logger,
        send: @escaping @Sendable ([String: Any]) async -> Void
    ) {
        (self.engine, self.configuration, self.logger, self.send) = (engine, configuration, logger, send)
    }

    func start() async { await emit("session.created", ["session": sessionObject()]) }

    /// One text frame from the client.
    func receive(_ text: String) async {
        switch RealtimeEventDecoder.decode(text) {
        case .failure(let error): await fail(error)
        case .success(let (eventID, event)):
            do { try await handle(event) } catch var error as RealtimeError {
                error.eventID = eventID
                await fail(error)
            } catch {
                var failure = RealtimeError("\(error)", code: "server_error")
                failure.type = "server_error"
                failure.eventID = eventID
                await fail(failure)
            }
        }
    }

    /// The socket closed: stop any generation.
    func close() {
        running?.task.cancel()
        running = nil
        for task in transcriptions.values { task.cancel() }
        transcriptions = [:]
    }

    private func handle(_ event: RealtimeClientEvent) async throws {
        switch event {
        case .sessionUpdate(let update):
            if let voice = update.voice {
                guard configuration.voices.voices[voice] != nil else {
                    throw RealtimeError(
                        "Unknown voice '\(voice)'; the voices are: \(configuration.voices.names.joined(separator: ", ")).",
                        param: "session.audio.output.voice")
                }
                settings.voice = voice
            }
            if let instructions = update.instructions { settings.instructions = instructions }
            if let modalities = update.outputModalities { settings.outputModalities = modalities }
            if let detection = update.turnDetection { settings.turnDetection = detection }
            if let transcription = update.inputTranscription {
                if let model = transcription?.model {
                    do { try configuration.models.check(model) } catch {
                        throw RealtimeError(
                            error.message, code: error.code, param: "session.audio.input.transcription.model")
                    }
                }
                settings.transcription = transcription
            }
            await emit("session.updated", ["session": sessionObject()])
        case .appendAudio(let samples):
            guard buffer.count + samples.count <= Self.maxBufferSamples else {
                throw RealtimeError(
                    "The input audio buffer is full (10 minutes); commit or clear it.", code: "buffer_full")
            }
            buffer += samples
            if case .serverVAD(let vadSettings) = settings.turnDetection { try await detect(samples, vadSettings) }
        case .commitAudio:
            try await commit()
            // No response follows by itself: the transcript can be asked for now.
            transcribeCommitted()
        case .clearAudio:
            bufferStart += buffer.count
            buffer = []
            await emit("input_audio_buffer.cleared", [:])
        case .createItem(let item):
            let itemID = Self.newID("item")
            switch item {
            case .text(let text): pending.append((itemID, .text(text)))
            case .audio(let samples): pending.append((itemID, .audio(samples)))
            }
            await emit("conversation.item.created", ["item": userItemObject(itemID, item)])
        case .truncate(let itemID, _, let audioEndMs):
            try truncate(itemID: itemID, audioEndMs: audioEndMs)
            await emit(
                "conversation.item.truncated", ["item_id": itemID, "content_index": 0, "audio_end_ms": audioEndMs])
        case .createResponse:
            try await createResponse()
        case .cancelResponse:
            guard running != nil else {
                throw RealtimeError("There is no response in progress to cancel.", code: "response_cancel_not_active")
            }
            cancelRunning()
        }
    }

    private func commit(itemID: String = RealtimeSession.newID("item")) async throws {
        guard !buffer.isEmpty else {
            throw RealtimeError(
                "The input audio buffer is empty: append audio before committing.",
                code: "input_audio_buffer_commit_empty")
        }
        pending.append((itemID, .audio(buffer)))
        let samples = buffer
        bufferStart += buffer.count
        buffer = []
        await emit("input_audio_buffer.committed", ["item_id": itemID, "previous_item_id": NSNull()])
        await emit("conversation.item.created", ["item": userItemObject(itemID, .audio(samples))])
        if settings.transcription != nil { untranscribed.append((itemID, samples)) }
    }

    /// Asks the engine for the transcripts of the committed audio turns. The engine runs requests
    /// in order, so one asked for after a response is created waits for that response: the reply
    /// comes first, the user's transcript after it.
    private func transcribeCommitted() {
        guard let transcription = settings.transcription else {
            untranscribed = []
            return
        }
        let engine = Result { try self.engine() }
        for (itemID, samples) in untranscribed {
            let request = TranscriptionService.taskRequest(samples: samples, language: transcription.language)
            // Queued now, in order; without an engine the stream is its error.
            let events: AsyncThrowingStream<TaskEvent, Error>
            switch engine {
            case .success(let engine): events = engine.run(request)
            case .failure(let error): events = AsyncThrowingStream { $0.finish(throwing: error) }
            }
            transcriptions[itemID] = Task { await self.streamTranscript(events, itemID: itemID) }
        }
        untranscribed = []
    }

    private func streamTranscript(_ events: AsyncThrowingStream<TaskEvent, Error>, itemID: String) async {
        let ids: [String: Any] = ["item_id": itemID, "content_index": 0]
        var transcript = ""
        do {
            for try await event in events {
                guard case .text(let text) = event else { continue }
                transcript += text
                await emit("conversation.item.input_audio_transcription.delta", ids.merging(["delta": text]) { $1 })
            }
            await emit(
                "conversation.item.input_audio_transcription.completed",
                ids.merging(["transcript": transcript]) { $1 })
        } catch is CancellationError {
        } catch {
            let body: [String: Any] = ["type": "server_error", "code": "transcription_failed", "message": "\(error)"]
            await emit("conversation.item.input_audio_transcription.failed", ids.merging(["error": body]) { $1 })
        }
        transcriptions[itemID] = nil
    }

    /// Server VAD: the detector's decisions on the newly appended audio, with the session's
    /// threshold (speech ends below it minus 0.15, Silero's own hysteresis), padding and silence
    /// duration. Speech that starts while a response runs interrupts it when the settings say so;
    /// speech that stops commits the buffer and, when asked, starts a response.
    private func detect(_ samples: [Float], _ settings: RealtimeVADSettings) async throws {
        if detector == nil {
            do { detector = try SpeechDetector() } catch {
                throw RealtimeError("Voice activity detection is unavailable: \(error)", code: "server_error")
            }
        }
        let rate = SpeechDetector.inputRate / 1000
        for p in detector!.feed(samples) {
            let chunkStart = vad.judgedMs
            vad.judgedMs += SpeechDetector.chunkMs
            if !vad.speaking {
                if Double(p) >= settings.threshold {
                    vad.speaking = true
                    vad.silenceMs = 0
                    vad.startMs = max(bufferStart / rate, chunkStart - settings.prefixPaddingMs)
                    vad.itemID = Self.newID("item")
                    if settings.interruptResponse, running != nil { cancelRunning() }
                    await emit(
                        "input_audio_buffer.speech_started", ["audio_start_ms": vad.startMs, "item_id": vad.itemID])
                } else {
                    // Before speech, only the padding is kept.
                    let keepFrom = max(bufferStart, (vad.judgedMs - settings.prefixPaddingMs) * rate)
                    if keepFrom > bufferStart {
                        buffer.removeFirst(min(buffer.count, keepFrom - bufferStart))
                        bufferStart = keepFrom
                    }
                }
                continue
            }
            vad.silenceMs = Double(p) < settings.threshold - 0.15 ? vad.silenceMs + SpeechDetector.chunkMs : 0
            guard vad.silenceMs >= settings.silenceDurationMs else { continue }
            vad.speaking = false
            await emit(
                "input_audio_buffer.speech_stopped",
                ["audio_end_ms": vad.judgedMs - vad.silenceMs, "item_id": vad.itemID])
            try await commit(itemID: vad.itemID)
            if settings.createResponse {
                // An interrupted response may still be ending: answer once it has (the
                // transcript is asked for then, after the answer).
                if running == nil { try await createResponse() } else { respondWhenDone = true }
            } else {
                transcribeCommitted()
            }
        }
    }

    /// Cuts the last reply to what the client says it played, and closes the turn as the
    /// recipe closes an assistant turn.
    private func truncate(itemID: String, audioEndMs: Int) throws {
        // A client cuts the reply it was playing as soon as the user speaks over it, often before
        // the cancelled response has ended: the cut waits for that end (before any next turn).
        if let running, running.itemID == itemID, running.cancelled {
            self.running?.cut = audioEndMs
            return
        }
        guard running == nil else {
            throw RealtimeError(
                "Cancel the response in progress before truncating.", code: "conversation_already_has_active_response")
        }
        guard var reply = last, reply.itemID == itemID else {
            throw RealtimeError(
                "No assistant item '\(itemID)' to truncate (only the latest reply can be).", param: "item_id")
        }
        let engine = try engine()
        reply.generated = RealtimeHistory.cut(
            reply.generated, keepingAudioMs: audioEndMs, pipeline: engine.pipeline)
        last = reply
    }

    private func createResponse() async throws {
        guard running == nil else {
            throw RealtimeError(
                "A response is already in progress; cancel it first.", code: "conversation_already_has_active_response")
        }
        // Transcripts of the turns it answers are asked for once it is queued (or has failed).
        defer { transcribeCommitted() }
        guard !pending.isEmpty else {
            throw RealtimeError("There is no new user input to respond to.", code: "no_user_input")
        }
        let engine: Engine
        do { engine = try self.engine() } catch {
            throw RealtimeError("The models are not ready: \(error)", code: "unavailable")
        }
        let speaks = settings.outputModalities.contains("audio")
        let turns: [DialogueTurn] = pending.map {
            switch $0.turn {
            case .audio(let samples): return .user(.samples(samples))
            case .text(let text): return .userText(text)
            }
        }
        let voice = try configuration.voices.voice(settings.voice)
        var history: TokenGrid?
        if let last { history = RealtimeHistory.closed(last, pipeline: engine.pipeline) }
        let system = [settings.instructions, voice.prompt == nil ? voice.english : ""].filter { !$0.isEmpty }
            .joined(separator: "\n")
        var voicePrompt: AudioSource?
        if let url = voice.prompt {
            voicePrompt = .samples(try AudioInput.load(url, sampleRate: 24000, maxSeconds: 60))
        }
        let conversation = Conversation(
            turns: turns, system: history == nil && !system.isEmpty ? system : nil,
            voice: history == nil ? voicePrompt : nil, history: history)
        var request = TaskRequest(
            speaks ? .spokenDialogue(conversation) : .speechToTextDialogue(conversation),
            seed: UInt64.random(in: 0..<(1 << 53)), maxNewTokens: configuration.maxNewTokens)
        if speaks { request.audioDelivery = .streamed(chunkFrames: 10) }
        request.forcedSteps = configuration.forcedSteps
        let stop = StopSignal()
        request.stopSignal = stop
        pending = []
        let responseID = Self.newID("resp")
        let itemID = Self.newID("item")
        // Queued now, so a transcript asked for next waits behind it.
        let events = engine.run(request)
        let task = Task {
            await self.generate(events, engine: engine, responseID: responseID, itemID: itemID, speaks: speaks)
        }
        running = Running(task: task, stop: stop, itemID: itemID)
    }

    /// Streams the response's events to the client.
    private func generate(
        _ events: AsyncThrowingStream<TaskEvent, Error>, engine: Engine, responseID: String, itemID: String,
        speaks: Bool
    ) async {
        let ids: [String: Any] = ["response_id": responseID, "item_id": itemID, "output_index": 0, "content_index": 0]
        // Emitted from here, in order with the rest (the session's other events may interleave).
        await emit(
            "response.created",
            ["response": ["id": responseID, "object": "realtime.response", "status": "in_progress", "output": [Any]()]])
        await emit(
            "response.output_item.added",
            ["response_id": responseID, "output_index": 0, "item": assistantItemObject(itemID, status: "in_progress")])
        var transcript = ""
        var result: TaskResult?
        var failure: Error?
        // Where the time to the first audio goes (ours, `response.done.response.timings_ms`):
        // waiting for the engine and encoding the user's audio, prefilling the new turn and the
        // first step (a patch when it speaks), and the streaming codec's first chunk.
        let clock = ContinuousClock()
        let created = clock.now
        var marks: [String: ContinuousClock.Instant] = [:]
        do {
            for try await event in events {
                switch event {
                case .progress(.prefill): if marks["started"] == nil { marks["started"] = clock.now }
                case .progress(.step): if marks["first_step"] == nil { marks["first_step"] = clock.now }
                case .text(let text):
                    transcript += text
                    guard running?.cancelled != true else { continue }
                    await emit(
                        speaks ? "response.output_audio_transcript.delta" : "response.output_text.delta",
                        ids.merging(["delta": text]) { $1 })
                case .audio(let samples) where speaks && !samples.isEmpty:
                    if marks["first_audio"] == nil { marks["first_audio"] = clock.now }
                    guard running?.cancelled != true else { continue }
                    let pcm = try SpeechService.encode(samples, format: .pcm, sampleRate: 24000)
                    await emit("response.output_audio.delta", ids.merging(["delta": pcm.base64EncodedString()]) { $1 })
                case .finished(let r): result = r
                default: break
                }
            }
        } catch { failure = error }
        let cancelled = running?.cancelled == true
        if let result {
            // A cancelled turn keeps what was generated; `RealtimeHistory.closed` closes it.
            last = Reply(
                itemID: itemID, prompt: result.sequence.slice(0..<(result.sequence.columns - result.newIDs.columns)),
                generated: result.newIDs, speaks: speaks)
            if let cut = running?.cut {
                last?.generated = RealtimeHistory.cut(result.newIDs, keepingAudioMs: cut, pipeline: engine.pipeline)
            }
        }
        if speaks {
            await emit("response.output_audio.done", ids)
            await emit("response.output_audio_transcript.done", ids.merging(["transcript": transcript]) { $1 })
        } else {
            await emit("response.output_text.done", ids.merging(["text": transcript]) { $1 })
        }
        let status = failure != nil && !cancelled ? "failed" : (cancelled ? "cancelled" : "completed")
        let item = assistantItemObject(
            itemID, status: status == "completed" ? "completed" : "incomplete", transcript: transcript)
        await emit("response.output_item.done", ["response_id": responseID, "output_index": 0, "item": item])
        let usage = result?.usage ?? TaskUsage()
        var response: [String: Any] = [
            "id": responseID, "object": "realtime.response", "status": status, "output": [item],
            "usage": [
                "total_tokens": usage.promptGroups + usage.generatedGroups, "input_tokens": usage.promptGroups,
                "output_tokens": usage.generatedGroups,
                "input_token_details": ["cached_tokens": usage.cachedGroups],
            ],
        ]
        func ms(_ from: ContinuousClock.Instant?, _ to: ContinuousClock.Instant?) -> Any {
            guard let from, let to else { return NSNull() }
            return from.duration(to: to) / .milliseconds(1)
        }
        response["timings_ms"] = [
            "queue_and_input_encoding": ms(created, marks["started"]),
            "prefill_and_first_step": ms(marks["started"], marks["first_step"]),
            "first_step_to_first_audio": ms(marks["first_step"], marks["first_audio"]),
            "created_to_first_audio": ms(created, marks["first_audio"]),
        ]
        if let failure, !cancelled {
            response["status_details"] = [
                "type": "failed", "error": ["type": "server_error", "message": "\(failure)"],
            ]
        }
        await emit("response.done", ["response": response])
        running = nil
        if respondWhenDone {
            respondWhenDone = false
            do { try await createResponse() } catch let error as RealtimeError { await fail(error) } catch {}
        }
    }

    /// Stops the running response after its current step: no more audio goes out, and the turn
    /// keeps what was generated.
    func cancelRunning() {
        guard running != nil else { return }
        running?.cancelled = true
        running?.stop.stop()
    }

    func fail(_ error: RealtimeError) async {
        var body: [String: Any] = ["type": error.type, "message": error.message]
        body["code"] = error.code ?? NSNull()
        body["param"] = error.param ?? NSNull()
        body["event_id"] = error.eventID ?? NSNull()
        await emit("error", ["error": body])
    }

    private func emit(_ type: String, _ fields: [String: Any]) async {
        events += 1
        var event = fields
        event["type"] = type
        event["event_id"] = "event_\(id.suffix(8))_\(events)"
        await send(event)
    }

    private func sessionObject() -> [String: Any] {
        var detection: Any = NSNull()
        if case .serverVAD(let v) = settings.turnDetection {
            detection = [
                "type": "server_vad", "threshold": v.threshold, "prefix_padding_ms": v.prefixPaddingMs,
                "silence_duration_ms": v.silenceDurationMs, "create_response": v.createResponse,
                "interrupt_response": v.interruptResponse,
            ]
        }
        let pcm: [String: Any] = ["type": "audio/pcm", "rate": 24000]
        return [
            "id": String(id), "object": "realtime.session", "type": "realtime", "model": "mimo-audio",
            "instructions": settings.instructions, "output_modalities": settings.outputModalities,
            "audio": [
                "input": [
                    "format": pcm, "turn_detection": detection,
                    "transcription": settings.transcription.map { t -> Any in
                        ["model": t.model, "language": t.language ?? NSNull()] as [String: Any]
                    } ?? NSNull(),
                ],
                "output": ["format": pcm, "voice": settings.voice],
            ],
        ]
    }

    private func userItemObject(_ itemID: String, _ item: RealtimeUserItem) -> [String: Any] {
        let content: [String: Any]
        switch item {
        case .text(let text): content = ["type": "input_text", "text": text]
        case .audio: content = ["type": "input_audio", "transcript": NSNull()]
        }
        return [
            "id": itemID, "object": "realtime.item", "type": "message", "role": "user", "status": "completed",
            "content": [content],
        ]
    }

    private func assistantItemObject(_ itemID: String, status: String, transcript: String? = nil) -> [String: Any] {
        let spoken = settings.outputModalities.contains("audio")
        var parts: [Any] = []
        if let transcript {
            let part: [String: Any] =
                spoken
                ? ["type": "output_audio", "transcript": transcript] : ["type": "output_text", "text": transcript]
            parts.append(part)
        }
        return [
            "id": itemID, "object": "realtime.item", "type": "message", "role": "assistant", "status": status,
            "content": parts,
        ]
    }

    static func newID(_ prefix: String) -> String {
        let hex = UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
        return prefix + "_" + String(hex.prefix(20))
    }
}
