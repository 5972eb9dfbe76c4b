import Foundation
import MiMoAudio
import TestSupport
import XCTest

/// The engine on the tiny fixtures: every task's events, the reference's greedy generations,
/// cancellation, ordering, the busy session, prefix reuse and back-pressure.
final class EngineTests: XCTestCase {
    var pipeline: Pipeline { TinyModels.pipeline }
    let goldens = TinyModels.generationGoldens

    func textIDs(_ grid: TokenGrid) -> [Int] { (0..<grid.groups(size: 4)).map { grid.text(group: $0, size: 4) } }

    /// The reference's greedy ASR and TTS generations, token for token, through `run`; the
    /// TTS audio decoded whole and streamed.
    func testGreedyGoldensThroughTheEngine() async throws {
        let engine = Engine(pipeline: pipeline)
        let asr = try await collect(
            engine,
            TaskRequest(
                .asr(TinyModels.testAudio), greedy: true, minNewTokens: 4, maxNewTokens: 16,
                templateIndex: 3))
        let r = try XCTUnwrap(asr.result)
        let prompt = try goldens.intRows("gen_asr.prompt_input_ids")
        XCTAssertEqual(r.sequence.slice(0..<prompt[0].count).rows, prompt, "the engine's ASR recipe")
        XCTAssertEqual(r.newIDs.rows, try goldens.intRows("gen_asr.new_ids"))
        XCTAssertEqual(r.stopReason, .stopToken)
        XCTAssertEqual(r.stopToken, "<|im_end|>")
        XCTAssertEqual(r.template, Templates.asr[3])
        // Text deltas: the whole generated text channel, detokenised without special tokens.
        XCTAssertEqual(asr.text, pipeline.textTokenizer.decode(textIDs(r.newIDs), skipSpecialTokens: true))
        XCTAssertEqual(asr.thinking, "")
        XCTAssertNil(r.thinking)
        XCTAssertEqual(r.answer, r.text)
        XCTAssertEqual(
            r.usage,
            TaskUsage(
                promptGroups: prompt[0].count / 4, cachedGroups: 0, generatedGroups: r.newIDs.groups(size: 4),
                audioSecondsIn: 1.5, audioSecondsOut: Double(r.codes[0].count) / 25))
        XCTAssertTrue(asr.audio.isEmpty, "ASR does not speak")

        let tts = TaskRequest(
            .tts(text: "Hello from the tiny MiMo fixture."), greedy: true, minNewTokens: 6, maxNewTokens: 16,
            templateIndex: 1, audioDelivery: .whole)
        let whole = try await collect(engine, tts)
        XCTAssertEqual(whole.result?.newIDs.rows, try goldens.intRows("gen_tts.new_ids"))
        XCTAssertEqual(whole.audio.count, 1)
        let reference = try goldens.floats("gen_tts.wav")
        XCTAssertEqual(whole.audio.first?.count, reference.count)
        // As the codec's own decode test: > 60 dB, the f32 re-association floor being ≈ 120 dB.
        XCTAssertGreaterThan(snr(whole.audio[0], reference: reference), 60)

        var streamedRequest = tts
        streamedRequest.audioDelivery = .streamed(chunkFrames: 4)
        let streamed = try await collect(engine, streamedRequest)
        let samples = Array(streamed.audio.joined())
        XCTAssertEqual(samples.count, 960 * 16, "960 samples per frame, 16 frames")
        XCTAssertEqual(streamed.result?.stream?.audioSeconds, Double(960 * 16) / 24000)
        XCTAssertEqual(
            streamed.result?.usage.cachedGroups, streamed.result.map { $0.usage.promptGroups - 1 },
            "the same prompt again: all but its last group come from the prefix cache")
        XCTAssertEqual(streamed.result?.newIDs, whole.result?.newIDs)
    }

    /// Every task kind streams progress, text (thinking apart), audio for the speaking tasks,
    /// and `finished` last.
    func testEveryTaskStreamsItsEvents() async throws {
        let engine = Engine(pipeline: pipeline)
        let (a, b) = (TinyModels.testAudio, TinyModels.clip2)
        let cases: [(name: String, task: TaskRequest.Task, speaks: Bool, thinks: Bool)] = [
            ("tts instruct", .tts(text: "Hello there.", instruct: "Speak slowly."), true, true),
            ("tts instruct + voice", .tts(text: "Hello there.", instruct: "Speak slowly.", voice: b), true, true),
            ("tts natural + voice", .tts(text: "Say it slowly: hello.", voice: b, natural: true), true, true),
            ("tts plain, voice ignored", .tts(text: "Hello there.", voice: b), true, false),
            ("audio question", .audioQuestion(a, question: "What is this?"), false, false),
            ("audio question, thinking", .audioQuestion(a, question: "What is this?", thinking: true), false, true),
            (
                "spoken dialogue",
                .spokenDialogue(
                    Conversation(
                        turns: [.user(a), .assistant(text: "Hi.", audio: b), .user(b)],
                        system: "Be brief.", voice: b)), true, false
            ),
            (
                "speech-to-text dialogue",
                .speechToTextDialogue(Conversation(turns: [.user(a), .assistant(text: "Hi.", audio: nil), .user(b)])),
                false, false
            ),
            (
                "speech-to-text dialogue, thinking",
                .speechToTextDialogue(Conversation(turns: [.user(a)]), thinking: true), false, true
            ),
            ("text dialogue", .textDialogue([.user("Hello!")]), false, false),
            ("text dialogue, thinking", .textDialogue([.user("Hello!")], thinking: true), false, true),
            (
                "in-context learning",
                .inContextLearning(
                    instruction: "Convert the voice.",
                    examples: [ICLExample(input: a, output: b, transcript: "Yes.")], query: b), true, false
            ),
            ("continuation", .continuation(a), true, false),
        ]
        for c in cases {
            let run = try await collect(engine, TaskRequest(c.task, seed: 7, maxNewTokens: 6, audioDelivery: .whole))
            let r = try XCTUnwrap(run.result, c.name)
            guard case .finished? = run.events.last else { return XCTFail("\(c.name): finished is not last") }
            XCTAssertTrue(
                run.events.contains { if case .progress(.prefill) = $0 { return true } else { return false } }, c.name)
            let steps = run.events.filter { if case .progress(.step) = $0 { return true } else { return false } }.count
            XCTAssertEqual(steps, r.newIDs.groups(size: 4), "\(c.name): a step event per group")
            // Live text is the generated text channel, with the thinking apart and the marker taken out.
            let live = pipeline.textTokenizer.decode(textIDs(r.newIDs), skipSpecialTokens: true)
            if c.thinks, let marker = live.range(of: "</think>") {
                XCTAssertEqual(run.thinking, String(live[..<marker.lowerBound]), c.name)
                XCTAssertEqual(run.text, String(live[marker.upperBound...]), c.name)
            } else if c.thinks {
                XCTAssertEqual(run.thinking, live, c.name)
                XCTAssertEqual(run.text, "", c.name)
                XCTAssertEqual(r.thinking, r.text, "\(c.name): never closed, all thinking")
                XCTAssertEqual(r.answer, "", c.name)
            } else {
                XCTAssertEqual(run.text, live, c.name)
                XCTAssertEqual(run.thinking, "", c.name)
                XCTAssertNil(r.thinking, c.name)
            }
            if c.speaks {
                XCTAssertEqual(run.audio.count, 1, c.name)
                let frames = r.codes[0].count
                XCTAssertEqual(
                    run.audio.first?.count, frames > 0 ? 960 * frames : 24000,
                    "\(c.name): the decode, or 1 s of silence")
                if frames == 0 { XCTAssertTrue(run.warnings.contains { $0.contains("silence") }, c.name) }
            } else {
                XCTAssertTrue(run.audio.isEmpty, c.name)
            }
            XCTAssertEqual(
                c.name == "tts plain, voice ignored", run.warnings.contains { $0.contains("ignores the voice prompt") },
                c.name)
        }
    }

    /// Dropping the stream mid-generation stops it within one decode step and frees the request.
    func testCancellingDuringGenerationStopsWithinAStep() async throws {
        // Each step waits 20 ms on the executor, so generation is still running when the consumer leaves.
        let recorder = TraceRecorder(hook: { if case .step = $0 { usleep(20_000) } })
        let engine = Engine(pipeline: pipeline, options: recorder.options)
        let request = TaskRequest(.textDialogue([.user("Hello!")]), seed: 1, minNewTokens: 300, maxNewTokens: 300)
        var seen = 0
        for try await event in engine.run(request) {
            if case .progress(.step) = event { seen += 1 }
            if seen == 2 { break }
        }
        recorder.waitForEnds(1)
        try assertStopped(
            recorder.all, request: 1, counting: { if case .step = $0 { return true } else { return false } })

        // The same when the consuming task is cancelled.
        let task = Task { for try await _ in engine.run(request) {} }
        waitUntil("the second step") { recorder.all.contains(.step(request: 2, groups: 2)) }
        task.cancel()
        _ = await task.result
        recorder.waitForEnds(1)
        try assertStopped(
            recorder.all, request: 2, counting: { if case .step = $0 { return true } else { return false } })
    }

    /// A long prefill is abandoned within one chunk, before any step.
    func testCancellingDuringPrefillStopsWithinAChunk() async throws {
        let recorder = TraceRecorder(hook: { if case .prefill = $0 { usleep(20_000) } })
        var options = recorder.options
        options.prefillChunk = 1
        let engine = Engine(pipeline: pipeline, options: options)
        for try await event in engine.run(TaskRequest(.asr(TinyModels.testAudio), greedy: true)) {
            if case .progress(.prefill) = event { break }
        }
        recorder.waitForEnds(1)
        let traces = recorder.all
        try assertStopped(traces, request: 1, counting: { if case .prefill = $0 { return true } else { return false } })
        XCTAssertFalse(
            traces.contains { if case .step = $0 { return true } else { return false } },
            "no step after a cancelled prefill")
        let total = traces.compactMap { if case .prefill(_, _, let total) = $0 { return total } else { return nil } }
            .first
        XCTAssertGreaterThan(total ?? 0, 10, "the prompt needed many chunks")
    }

    /// Cancelled (`outcome`), and at most one `counted` trace after the cancel was requested:
    /// the flag is read before every step (or chunk), so only the one in flight may finish.
    func assertStopped(
        _ traces: [EngineTrace], request id: Int, counting counted: (EngineTrace) -> Bool,
        file: StaticString = #filePath, line: UInt = #line
    ) throws {
        let mine = traces.filter { trace in
            switch trace {
            case .queued(let r), .started(let r), .prefill(let r, _, _), .step(let r, _), .cancelRequested(let r),
                .ended(let r, _):
                return r == id
            }
        }
        let cancel = try XCTUnwrap(
            mine.firstIndex(of: .cancelRequested(request: id)), "no cancel", file: file, line: line)
        XCTAssertLessThanOrEqual(
            mine[cancel...].filter(counted).count, 1, "work after the cancel", file: file, line: line)
        XCTAssertEqual(mine.last, .ended(request: id, outcome: .cancelled), file: file, line: line)
    }

    /// A prompt prefilled in chunks gives the one-pass result (the greedy golden).
    func testChunkedPrefillReproducesTheGolden() async throws {
        let engine = Engine(pipeline: pipeline, options: EngineOptions(prefixCacheBytes: 0, prefillChunk: 3))
        let run = try await collect(
            engine,
            TaskRequest(
                .asr(TinyModels.testAudio), greedy: true, minNewTokens: 4, maxNewTokens: 16,
                templateIndex: 3))
        XCTAssertEqual(run.result?.newIDs.rows, try goldens.intRows("gen_asr.new_ids"))
        let done = run.events.compactMap {
            if case .progress(.prefill(let done, _)) = $0 { return done } else { return nil }
        }
        let groups = run.result?.usage.promptGroups ?? 0
        // One event as the prefill starts, then one per chunk of 3 groups.
        XCTAssertEqual(done, [0] + Array(stride(from: 3, to: groups, by: 3)) + [groups])
    }

    /// Requests submitted at once run one at a time in submission order, each with the result
    /// it has alone.
    func testConcurrentRequestsRunInOrderWithCorrectResults() async throws {
        let recorder = TraceRecorder()
        let engine = Engine(pipeline: pipeline, options: recorder.options)
        let requests = [3, 0, 12].map {
            TaskRequest(.asr(TinyModels.testAudio), greedy: true, minNewTokens: 4, maxNewTokens: 16, templateIndex: $0)
        }
        let results = try await withThrowingTaskGroup(of: (Int, TaskResult).self) { group in
            for (i, request) in requests.enumerated() {
                group.addTask {
                    let run = try await collect(engine, request)
                    return (i, try XCTUnwrap(run.result))
                }
            }
            var results = [TaskResult?](repeating: nil, count: requests.count)
            for try await (i, r) in group { results[i] = r }
            return results.map { $0! }
        }
        let traces = recorder.all
        let queued = traces.compactMap { if case .queued(let r) = $0 { return r } else { return nil } }
        let started = traces.compactMap { if case .started(let r) = $0 { return r } else { return nil } }
        XCTAssertEqual(started, queued, "first come, first served")
        for (previous, next) in zip(started, started.dropFirst()) {
            let ended = try XCTUnwrap(traces.firstIndex(of: .ended(request: previous, outcome: .completed)))
            XCTAssertLessThan(
                ended, try XCTUnwrap(traces.firstIndex(of: .started(request: next))), "one request at a time")
        }
        XCTAssertEqual(results[0].newIDs.rows, try goldens.intRows("gen_asr.new_ids"))
        let cold = Engine(pipeline: pipeline, options: EngineOptions(prefixCacheBytes: 0))
        for (request, result) in zip(requests, results) {
            XCTAssertEqual(try cold.perform(request) { _ in }.newIDs, result.newIDs)
        }
    }

    /// A second use of an `LMSession` while it generates is refused, and the first is unharmed.
    func testASharedSessionIsBusy() throws {
        let prompt = TokenGrid(rows: try goldens.intRows("gen_asr.prompt_input_ids"))
        let options = GenerationOptions(maxNewTokens: 6, stopTokens: [], textSampler: .greedy, audioSampler: .greedy)
        let session = LMSession(model: pipeline.lm)
        var inner: Error?
        let outer = try session.generate(prompt: prompt, options: options) { event in
            guard case .text = event, inner == nil else { return }
            do { try session.generate(prompt: prompt, options: options) } catch { inner = error }
        }
        XCTAssertEqual(inner as? GenerationError, .busy)
        XCTAssertEqual(
            outer.newIDs, try LMSession(model: pipeline.lm).generate(prompt: prompt, options: options).newIDs)
    }

    /// A second turn that continues the first (the reference's `add_history`) prefills only its
    /// new groups, and a chat resent whole reuses the common prefix; both as a cold run.
    func testASecondTurnPrefillsOnlyWhatIsNew() async throws {
        let engine = Engine(pipeline: pipeline)
        let cold = Engine(pipeline: pipeline, options: EngineOptions(prefixCacheBytes: 0))
        var last: TaskEvent?
        let first = try engine.perform(
            TaskRequest(
                .spokenDialogue(Conversation(turns: [.user(TinyModels.testAudio)])),
                greedy: true, maxNewTokens: 6)
        ) { last = $0 }
        guard case .finished? = last else { return XCTFail("perform hands over finished last") }
        let second = TaskRequest(
            .spokenDialogue(Conversation(turns: [.user(TinyModels.clip2)], history: first.sequence)),
            greedy: true, maxNewTokens: 6)
        let warm = try engine.perform(second) { _ in }
        let newTurn = warm.usage.promptGroups - first.sequence.groups(size: 4)
        XCTAssertGreaterThan(newTurn, 0)
        // The last generated group is never fed back, so it is prefilled with the new turn.
        XCTAssertEqual(warm.timings.prefillGroups, newTurn + 1)
        XCTAssertEqual(warm.usage.cachedGroups, first.sequence.groups(size: 4) - 1)
        let reference = try cold.perform(second) { _ in }
        XCTAssertEqual(reference.timings.prefillGroups, reference.usage.promptGroups)
        XCTAssertEqual(warm.newIDs, reference.newIDs)

        // Text chat as HTTP clients send it: the whole history again, the reply as text.
        let turn1 = try engine.perform(TaskRequest(.textDialogue([.user("Hello!")]), greedy: true, maxNewTokens: 5)) {
            _ in
        }
        let resent = TaskRequest(
            .textDialogue([.user("Hello!"), .assistant(turn1.text), .user("And then?")]), greedy: true, maxNewTokens: 5)
        let hit = try engine.perform(resent) { _ in }
        // Everything up to the reply's header is shared (the prompt's think-off block is not in the history).
        let header = try pipeline.prompts.grid([
            .text("<|im_start|>user\n"), .text("Hello!"), .text("<|im_end|>\n"),
            .text("<|im_start|>assistant\n"),
        ]).groups(size: 4)
        XCTAssertGreaterThanOrEqual(hit.usage.cachedGroups, header)
        XCTAssertEqual(hit.timings.prefillGroups, hit.usage.promptGroups - hit.usage.cachedGroups)
        XCTAssertEqual(hit.newIDs, try cold.perform(resent) { _ in }.newIDs)
    }

    /// With `maxQueue` requests waiting, the next is refused at once.
    func testAFullQueueRefusesRequests() async throws {
        let gate = DispatchSemaphore(value: 0)
        let recorder = TraceRecorder(hook: { if $0 == .started(request: 1) { gate.wait() } })
        var options = recorder.options
        options.maxQueue = 1
        let engine = Engine(pipeline: pipeline, options: options)
        let request = TaskRequest(.textDialogue([.user("Hello!")]), maxNewTokens: 2)
        let running = Task { try await collect(engine, request) }
        waitUntil("the first request to start") { recorder.all.contains(.started(request: 1)) }
        let waiting = Task { try await collect(engine, request) }
        waitUntil("the second request to wait") { engine.waitingRequests == 1 }
        do {
            _ = try await collect(engine, request)
            XCTFail("a third request was accepted")
        } catch {
            XCTAssertEqual(error as? EngineError, .queueFull(capacity: 1))
        }
        gate.signal()
        let (first, second) = (try await running.value, try await waiting.value)
        XCTAssertNotNil(first.result)
        XCTAssertNotNil(second.result)
    }

    /// A synchronous consumer whose output fails cancels the request and gets its own error back.
    func testAFailingConsumerCancelsThePerformedRequest() throws {
        struct Full: Error {}
        let recorder = TraceRecorder()
        let engine = Engine(pipeline: pipeline, options: recorder.options)
        let request = TaskRequest(.textDialogue([.user("Hello!")]), minNewTokens: 50, maxNewTokens: 50)
        XCTAssertThrowsError(try engine.perform(request) { event in if case .progress(.step) = event { throw Full() } })
        {
            XCTAssertTrue($0 is Full, "\($0)")
        }
        recorder.waitForEnds(1)
        try assertStopped(
            recorder.all, request: 1, counting: { if case .step = $0 { return true } else { return false } })
    }

    /// ASR with a fixed template is the same every run; a pinned index wins over it.
    func testTheEvaluationTemplateMakesASRReproducible() throws {
        let engine = Engine(pipeline: pipeline)
        var request = TaskRequest(.asr(TinyModels.testAudio), seed: 1, maxNewTokens: 4)
        request.fixedTemplate = .chinese
        XCTAssertEqual(try engine.perform(request) { _ in }.template, "请将这段语音转换为文字.")
        request.fixedTemplate = .english
        request.seed = 2
        XCTAssertEqual(try engine.perform(request) { _ in }.template, "Transcribe the following voice message.")
        request.templateIndex = 5
        XCTAssertEqual(try engine.perform(request) { _ in }.template, Templates.asr[5])
    }

    /// TTS text over 300 characters is spoken piece by piece, with one template, in order.
    func testLongTextIsSpokenInPieces() throws {
        let engine = Engine(pipeline: pipeline)
        let text = String(repeating: "This is one sentence of a long text. ", count: 20)
        let pieces = TextSplitter.pieces(text)
        XCTAssertEqual(pieces.count, 3)
        var audio = 0
        var prefills = 0
        let result = try engine.perform(
            TaskRequest(.tts(text: text), seed: 3, minNewTokens: 3, maxNewTokens: 3, audioDelivery: .whole)
        ) { event in
            if case .audio = event { audio += 1 }
            if case .progress(.prefill(let done, let total)) = event, done == total { prefills += 1 }
        }
        XCTAssertEqual(audio, 3, "one decode per piece, in order")
        XCTAssertEqual(prefills, 3)
        XCTAssertEqual(result.newIDs.groups(size: 4), 9, "3 groups per piece")
        XCTAssertEqual(result.usage.generatedGroups, 9)
        XCTAssertTrue(Templates.tts(for: text).contains(try XCTUnwrap(result.template)))
    }

    func testBadRequestsAreRefusedWithTheirReason() throws {
        let engine = Engine(pipeline: pipeline)
        let cases: [(TaskRequest, EngineError)] = [
            (
                TaskRequest(.asr(TinyModels.testAudio), templateIndex: 22),
                .templateIndexOutOfRange(index: 22, count: 22)
            ),
            (TaskRequest(.textDialogue([.user("Hi"), .assistant("Hello")])), .noUserTurn),
            (TaskRequest(.spokenDialogue(Conversation(turns: [.assistant(text: "Hi", audio: nil)]))), .noUserTurn),
            (TaskRequest(.inContextLearning(instruction: "", examples: [], query: TinyModels.clip2)), .noExamples),
            (
                TaskRequest(.grid(TokenGrid(rows: []), stops: [99_999])),
                .stopTokenOutOfRange(id: 99_999, vocab: pipeline.lm.config.vocabSize)
            ),
            (TaskRequest(.tts(text: "Hi"), audioDelivery: .streamed(chunkFrames: 0)), .invalidChunk(0)),
        ]
        for (request, expected) in cases {
            XCTAssertThrowsError(try engine.perform(request) { _ in }) { XCTAssertEqual($0 as? EngineError, expected) }
        }
    }
}
