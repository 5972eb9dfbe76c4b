// MiMo-Audio playground: one page over the server's OpenAI-compatible API (same origin).
// Plain browser JavaScript, no build step and no outside requests.
'use strict';

// The codec's rate: speech comes out at it, realtime audio goes both ways at it, and every
// clip the page shows or sends is converted to it (mono, 16-bit WAV).
const SAMPLE_RATE = 24000;

const $ = (id) => document.getElementById(id);

// ---------------------------------------------------------------------------------------------
// API key, errors, requests

const KEY_STORAGE = 'mimo-playground.api-key';

function apiKey() {
  return $('api-key').value.trim();
}

function authHeaders(extra = {}) {
  const key = apiKey();
  return key ? { ...extra, Authorization: `Bearer ${key}` } : { ...extra };
}

// The #error element is a role="alert" live region; CSS hides it while it is empty.
function showError(message) {
  $('error').textContent = message;
}

function clearError() {
  $('error').textContent = '';
}

// The server answers errors as OpenAI does, {"error": {"message", ...}}: show its own words and
// fall back to the body or the status only when the body is not that.
async function serverMessage(response) {
  const text = await response.text().catch(() => '');
  try {
    const message = JSON.parse(text)?.error?.message;
    if (message) return message;
  } catch (_) { /* not JSON */ }
  return text.trim() || `${response.status} ${response.statusText}`;
}

async function api(path, options = {}) {
  const response = await fetch(path, { ...options, headers: authHeaders(options.headers) });
  if (!response.ok) throw new Error(await serverMessage(response));
  return response;
}

async function postJSON(path, body, signal) {
  const response = await api(path, {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body), signal,
  });
  return response;
}

// Wraps an event handler: clears the previous error, shows the new one. An abort is the user's
// own doing, not an error.
function guarded(handler) {
  return async (...args) => {
    clearError();
    try {
      await handler(...args);
    } catch (error) {
      if (error?.name === 'AbortError') return;
      showError(error?.message || String(error));
    }
  };
}

// Disables a button while its request runs, so a second click cannot send it twice.
async function whileBusy(button, statusId, text, work) {
  button.disabled = true;
  button.setAttribute('aria-busy', 'true');
  $(statusId).textContent = text;
  try {
    const result = await work();
    $(statusId).textContent = 'Done.';
    return result;
  } catch (error) {
    $(statusId).textContent = error?.name === 'AbortError' ? 'Stopped.' : 'Failed.';
    throw error;
  } finally {
    button.disabled = false;
    button.removeAttribute('aria-busy');
  }
}

// ---------------------------------------------------------------------------------------------
// PCM, WAV, base64

function pcm16ToFloat(bytes) {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const samples = new Float32Array(bytes.byteLength >> 1);
  for (let i = 0; i < samples.length; i++) samples[i] = view.getInt16(2 * i, true) / 32768;
  return samples;
}

function floatToPcm16(samples) {
  const bytes = new Uint8Array(samples.length * 2);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < samples.length; i++) {
    const s = Math.max(-1, Math.min(1, samples[i]));
    view.setInt16(2 * i, s < 0 ? s * 32768 : s * 32767, true);
  }
  return bytes;
}

// A canonical 44-byte header: PCM (format 1), mono, 16-bit.
function encodeWav(samples, rate = SAMPLE_RATE) {
  const data = floatToPcm16(samples);
  const header = new DataView(new ArrayBuffer(44));
  const ascii = (offset, text) => {
    for (let i = 0; i < text.length; i++) header.setUint8(offset + i, text.charCodeAt(i));
  };
  ascii(0, 'RIFF');
  header.setUint32(4, 36 + data.length, true);
  ascii(8, 'WAVE');
  ascii(12, 'fmt ');
  header.setUint32(16, 16, true); // fmt chunk size
  header.setUint16(20, 1, true); // PCM
  header.setUint16(22, 1, true); // channels
  header.setUint32(24, rate, true);
  header.setUint32(28, rate * 2, true); // bytes per second
  header.setUint16(32, 2, true); // bytes per frame
  header.setUint16(34, 16, true); // bits per sample
  ascii(36, 'data');
  header.setUint32(40, data.length, true);
  return new Blob([header.buffer, data], { type: 'audio/wav' });
}

function concatFloat(chunks) {
  const total = chunks.reduce((sum, chunk) => sum + chunk.length, 0);
  const out = new Float32Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  return out;
}

// btoa takes a binary string; build it in slices so long clips do not overflow the argument list.
function bytesToBase64(bytes) {
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}

function base64ToBytes(text) {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

// ---------------------------------------------------------------------------------------------
// Audio context, decoding, playback

let playbackContext = null;

// One context for decoding and for playing speech; created on first use because browsers only
// let a context start after a user gesture.
function sharedContext() {
  if (!playbackContext) playbackContext = new AudioContext();
  return playbackContext;
}

// Any file the browser can decode, mixed down to mono and resampled to 24 kHz by rendering it
// through an OfflineAudioContext (the browser's own resampler).
async function decodeToMono24k(blob) {
  const decoded = await sharedContext().decodeAudioData(await blob.arrayBuffer());
  const frames = Math.max(1, Math.ceil(decoded.duration * SAMPLE_RATE));
  const offline = new OfflineAudioContext(1, frames, SAMPLE_RATE);
  const source = offline.createBufferSource();
  source.buffer = decoded;
  source.connect(offline.destination);
  source.start();
  const rendered = await offline.startRendering();
  return rendered.getChannelData(0).slice();
}

// Plays 16-bit little-endian PCM as it arrives, each chunk as an AudioBuffer scheduled right
// where the previous one ends, and keeps the samples for the WAV afterwards.
class PcmPlayer {
  constructor(context, rate = SAMPLE_RATE) {
    this.context = context;
    this.rate = rate;
    this.carry = null; // a network chunk can end between the two bytes of a sample
    this.nextTime = 0;
    this.sources = new Set();
    this.chunks = [];
    this.spans = []; // [start, end] in context time of each chunk of this clip, for played()
  }

  push(bytes) {
    if (this.carry !== null) {
      const joined = new Uint8Array(bytes.length + 1);
      joined[0] = this.carry;
      joined.set(bytes, 1);
      bytes = joined;
      this.carry = null;
    }
    if (bytes.length % 2) {
      this.carry = bytes[bytes.length - 1];
      bytes = bytes.subarray(0, bytes.length - 1);
    }
    if (bytes.length === 0) return;
    const samples = pcm16ToFloat(bytes);
    this.chunks.push(samples);
    this.schedule(samples);
  }

  schedule(samples) {
    const buffer = this.context.createBuffer(1, samples.length, this.rate);
    buffer.copyToChannel(samples, 0);
    const source = this.context.createBufferSource();
    source.buffer = buffer;
    source.connect(this.context.destination);
    // After an underrun (or at the start) begin slightly ahead of now, so the first samples of
    // the chunk are not cut by the time it takes to schedule it.
    const now = this.context.currentTime;
    if (this.nextTime <= now) this.nextTime = now + 0.05;
    source.start(this.nextTime);
    this.spans.push([this.nextTime, this.nextTime + buffer.duration]);
    this.nextTime += buffer.duration;
    this.sources.add(source);
    source.onended = () => this.sources.delete(source);
  }

  get playing() {
    return this.sources.size > 0;
  }

  // Seconds of this clip heard so far: what a barge-in tells the server was played.
  played() {
    const now = this.context.currentTime;
    return this.spans.reduce((sum, [start, end]) => sum + Math.max(0, Math.min(now, end) - start), 0);
  }

  // Silences everything scheduled, now (barge-in, Stop); what was played stays counted.
  stop() {
    const now = this.context.currentTime;
    this.spans = this.spans.map(([start, end]) => [start, Math.min(end, Math.max(start, now))]);
    for (const source of this.sources) {
      try { source.stop(); } catch (_) { /* already stopped */ }
    }
    this.sources.clear();
    this.nextTime = 0;
  }

  // Starts a new clip: the samples kept so far are dropped, playback is left alone.
  newClip() {
    this.chunks = [];
    this.spans = [];
    this.carry = null;
  }

  samples() {
    return concatFloat(this.chunks);
  }
}

// ---------------------------------------------------------------------------------------------
// Spectrogram: 512-point frames, Hann window, radix-2 FFT, log magnitude

const FRAME = 512;
const HANN = Float32Array.from({ length: FRAME }, (_, i) => 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / FRAME));

// Iterative in-place Cooley-Tukey FFT; the length must be a power of two.
function fft(re, im) {
  const n = re.length;
  // Bit-reversal permutation.
  for (let i = 1, j = 0; i < n; i++) {
    let bit = n >> 1;
    for (; j & bit; bit >>= 1) j ^= bit;
    j ^= bit;
    if (i < j) {
      [re[i], re[j]] = [re[j], re[i]];
      [im[i], im[j]] = [im[j], im[i]];
    }
  }
  // Butterflies, doubling the transform size each pass.
  for (let size = 2; size <= n; size <<= 1) {
    const half = size >> 1;
    const angle = (-2 * Math.PI) / size;
    const stepRe = Math.cos(angle);
    const stepIm = Math.sin(angle);
    for (let start = 0; start < n; start += size) {
      let wRe = 1;
      let wIm = 0;
      for (let k = 0; k < half; k++) {
        const a = start + k;
        const b = a + half;
        const tRe = re[b] * wRe - im[b] * wIm;
        const tIm = re[b] * wIm + im[b] * wRe;
        re[b] = re[a] - tRe;
        im[b] = im[a] - tIm;
        re[a] += tRe;
        im[a] += tIm;
        const nextRe = wRe * stepRe - wIm * stepIm;
        wIm = wRe * stepIm + wIm * stepRe;
        wRe = nextRe;
      }
    }
  }
}

// Log power (dB) per frame; the hop grows with the clip so a long clip stays cheap to draw.
function spectrogramFrames(samples, maxColumns = 800) {
  const span = Math.max(0, samples.length - FRAME);
  const hop = Math.max(FRAME / 4, Math.ceil(span / maxColumns));
  const columns = Math.floor(span / hop) + 1;
  const bins = FRAME / 2;
  const frames = [];
  const re = new Float32Array(FRAME);
  const im = new Float32Array(FRAME);
  for (let c = 0; c < columns; c++) {
    const start = c * hop;
    for (let i = 0; i < FRAME; i++) {
      re[i] = (samples[start + i] || 0) * HANN[i]; // zero-padded past the end
      im[i] = 0;
    }
    fft(re, im);
    const db = new Float32Array(bins);
    for (let k = 0; k < bins; k++) db[k] = 10 * Math.log10(re[k] * re[k] + im[k] * im[k] + 1e-10);
    frames.push(db);
  }
  return frames;
}

// Dark blue → purple → orange → pale yellow, as a 256-entry table of [r, g, b].
const PALETTE = [[8, 8, 32], [90, 20, 120], [220, 80, 40], [255, 240, 160]];
const COLOURS = Array.from({ length: 256 }, (_, level) => {
  const x = (level / 255) * (PALETTE.length - 1);
  const i = Math.min(PALETTE.length - 2, Math.floor(x));
  const t = x - i;
  return PALETTE[i].map((lo, n) => Math.round(lo + (PALETTE[i + 1][n] - lo) * t));
});

// Silence (all bins at the 1e-10 floor, -100 dB) must stay dark rather than fill the range.
const QUIETEST_DB = -100;
const RANGE_DB = 80;

function drawSpectrogram(canvas, samples) {
  const frames = spectrogramFrames(samples);
  const bins = FRAME / 2;
  let top = -Infinity;
  for (const frame of frames) for (const db of frame) top = Math.max(top, db);
  // An 80 dB range under the loudest bin, never reaching below the silence floor.
  const floor = Math.max(top - RANGE_DB, QUIETEST_DB);
  const span = Math.max(top - floor, 1e-6);
  const image = new ImageData(frames.length, bins);
  const pixels = image.data;
  frames.forEach((frame, x) => {
    for (let k = 0; k < bins; k++) {
      const level = Math.round(255 * Math.max(0, Math.min(1, (frame[k] - floor) / span)));
      const [r, g, b] = COLOURS[level];
      const offset = ((bins - 1 - k) * frames.length + x) * 4; // low frequencies at the bottom
      pixels[offset] = r;
      pixels[offset + 1] = g;
      pixels[offset + 2] = b;
      pixels[offset + 3] = 255;
    }
  });
  // Draw at the data's own size, then scale it onto the visible canvas.
  const scratch = document.createElement('canvas');
  scratch.width = frames.length;
  scratch.height = bins;
  scratch.getContext('2d').putImageData(image, 0, 0);
  const context = canvas.getContext('2d');
  context.imageSmoothingEnabled = true;
  context.clearRect(0, 0, canvas.width, canvas.height);
  context.drawImage(scratch, 0, 0, canvas.width, canvas.height);
}

// ---------------------------------------------------------------------------------------------
// Audio views: every clip gets a spectrogram, a player and a download link (ids PREFIX-…)

const viewUrls = new Map();

function showAudio(prefix, samples, name) {
  const blob = encodeWav(samples);
  const previous = viewUrls.get(prefix);
  if (previous) URL.revokeObjectURL(previous);
  const url = URL.createObjectURL(blob);
  viewUrls.set(prefix, url);
  $(`${prefix}-audio`).src = url;
  const link = $(`${prefix}-download`);
  link.href = url;
  link.download = `${name}.wav`;
  link.textContent = `Download WAV (${(samples.length / SAMPLE_RATE).toFixed(1)} s)`;
  link.hidden = false;
  drawSpectrogram($(`${prefix}-spectrogram`), samples);
  return blob;
}

// ---------------------------------------------------------------------------------------------
// Microphone: an AudioWorklet hands over the raw samples at the context's rate

// Loaded from a Blob URL so the page stays three files. It batches 128-frame render quanta
// into ~1024-frame blocks to keep the message rate low.
const CAPTURE_WORKLET = `
class CaptureProcessor extends AudioWorkletProcessor {
  constructor() {
    super();
    this.block = new Float32Array(1024);
    this.filled = 0;
  }
  process(inputs) {
    const channel = inputs[0] && inputs[0][0];
    if (channel) {
      for (let i = 0; i < channel.length; i++) {
        this.block[this.filled++] = channel[i];
        if (this.filled === this.block.length) {
          this.port.postMessage(this.block.slice());
          this.filled = 0;
        }
      }
    }
    return true;
  }
}
registerProcessor('capture-processor', CaptureProcessor);
`;

// Streaming downsampler to 24 kHz: each output sample is the mean of the input samples it
// covers (a box filter, enough against aliasing for speech); state carries across blocks.
// For a context slower than 24 kHz it holds the last value instead.
class Downsampler {
  constructor(fromRate, toRate = SAMPLE_RATE) {
    this.ratio = fromRate / toRate;
    this.position = 0;
    this.next = this.ratio;
    this.sum = 0;
    this.count = 0;
    this.last = 0;
  }

  push(input) {
    const out = [];
    for (let i = 0; i < input.length; i++) {
      this.sum += input[i];
      this.count++;
      this.position++;
      while (this.position >= this.next) {
        this.last = this.count ? this.sum / this.count : this.last;
        out.push(this.last);
        this.sum = 0;
        this.count = 0;
        this.next += this.ratio;
      }
    }
    // Keep the counters small on long sessions.
    const whole = Math.floor(this.position);
    this.position -= whole;
    this.next -= whole;
    return Float32Array.from(out);
  }
}

// Opens the microphone; onSamples receives 24 kHz mono Float32Array blocks. Returns the
// context (to play replies through the same one) and close().
async function openMicrophone(onSamples) {
  if (!navigator.mediaDevices?.getUserMedia) {
    throw new Error('The microphone needs a secure page: open the playground over https or on localhost.');
  }
  const stream = await navigator.mediaDevices.getUserMedia({
    audio: { channelCount: 1, echoCancellation: true, noiseSuppression: true, autoGainControl: true },
  });
  const context = new AudioContext();
  try {
    if (!context.audioWorklet) throw new Error('This browser has no AudioWorklet; recording is not possible.');
    const url = URL.createObjectURL(new Blob([CAPTURE_WORKLET], { type: 'application/javascript' }));
    try {
      await context.audioWorklet.addModule(url);
    } finally {
      URL.revokeObjectURL(url);
    }
    const source = context.createMediaStreamSource(stream);
    const node = new AudioWorkletNode(context, 'capture-processor');
    // The worklet only runs while something pulls it: route it into the output, muted.
    const mute = context.createGain();
    mute.gain.value = 0;
    const downsampler = new Downsampler(context.sampleRate);
    node.port.onmessage = (event) => {
      const block = downsampler.push(event.data);
      if (block.length) onSamples(block);
    };
    source.connect(node);
    node.connect(mute);
    mute.connect(context.destination);
    await context.resume();
  } catch (error) {
    stream.getTracks().forEach((track) => track.stop());
    context.close();
    throw error;
  }
  return {
    context,
    close() {
      stream.getTracks().forEach((track) => track.stop());
      context.close();
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Audio inputs of the transcription and question tabs: a file or a recording

const inputs = {}; // prefix → { samples, blob }

function setInput(prefix, samples, name) {
  const blob = showAudio(prefix, samples, name);
  inputs[prefix] = { samples, blob };
  document.querySelectorAll(`[data-needs-input="${prefix}"]`).forEach((button) => { button.disabled = false; });
}

function setupAudioInput(prefix) {
  $(`${prefix}-file`).addEventListener('change', guarded(async (event) => {
    const file = event.target.files[0];
    if (!file) return;
    const samples = await decodeToMono24k(file);
    setInput(prefix, samples, file.name.replace(/\.[^.]*$/, '') || 'audio');
  }));

  const button = $(`${prefix}-record`);
  let recording = null; // { mic, chunks } while recording
  const finish = () => {
    recording.mic.close();
    const samples = concatFloat(recording.chunks);
    recording = null;
    button.textContent = 'Record';
    button.setAttribute('aria-pressed', 'false');
    if (samples.length) setInput(prefix, samples, 'recording');
  };
  button.addEventListener('click', guarded(async () => {
    if (recording) return finish();
    const chunks = [];
    const mic = await openMicrophone((block) => chunks.push(block));
    recording = { mic, chunks };
    button.textContent = 'Stop recording';
    button.setAttribute('aria-pressed', 'true');
  }));
}

// ---------------------------------------------------------------------------------------------
// Voices

async function loadVoices() {
  const selects = document.querySelectorAll('.voice-select');
  let voices;
  try {
    voices = (await (await api('/v1/audio/voices')).json()).data || [];
  } catch (error) {
    // Keep the pages usable: the server's default voice name still works.
    selects.forEach((select) => { select.replaceChildren(new Option('alloy', 'alloy')); });
    throw error;
  }
  selects.forEach((select) => {
    const chosen = select.value;
    select.replaceChildren(...voices.map((voice) => {
      const label = voice.instruction ? `${voice.name} — ${voice.instruction}` : voice.name;
      return new Option(voice.voice_prompt ? `${label} (voice prompt)` : label, voice.id);
    }));
    if (voices.some((voice) => voice.id === chosen)) select.value = chosen;
  });
}

// ---------------------------------------------------------------------------------------------
// Speech tab

let speechAbort = null;
let speechPlayer = null;

async function speak() {
  const text = $('tts-text').value.trim();
  if (!text) throw new Error('Type some text to speak.');
  const context = sharedContext();
  await context.resume(); // inside the click, so the browser lets it start
  speechAbort?.abort();
  speechPlayer?.stop();
  speechAbort = new AbortController();
  const player = new PcmPlayer(context);
  speechPlayer = player;
  const body = {
    model: 'tts-1', input: text, voice: $('tts-voice').value || 'alloy',
    response_format: 'pcm', stream_format: 'audio',
  };
  const instructions = $('tts-instructions').value.trim();
  if (instructions) body.instructions = instructions;

  $('tts-stop').disabled = false;
  try {
    await whileBusy($('tts-speak'), 'tts-status', 'Generating…', async () => {
      const response = await postJSON('/v1/audio/speech', body, speechAbort.signal);
      await readStream(response, player, (seconds) => {
        $('tts-status').textContent = `Streaming… ${seconds.toFixed(1)} s received`;
      });
    });
  } finally {
    $('tts-stop').disabled = true;
    // Offer what arrived, also after Stop.
    const samples = player.samples();
    if (samples.length) showAudio('tts', samples, 'speech');
  }
}

async function readStream(response, player, onProgress) {
  const reader = response.body.getReader();
  let received = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    player.push(value);
    received += value.length;
    onProgress(received / 2 / SAMPLE_RATE);
  }
}

function stopSpeech() {
  speechAbort?.abort();
  speechPlayer?.stop();
}

// ---------------------------------------------------------------------------------------------
// Transcription tab

async function transcribe() {
  const input = inputs.asr;
  if (!input) throw new Error('Choose an audio file or record one first.');
  const form = new FormData();
  form.append('file', input.blob, 'audio.wav');
  form.append('model', 'whisper-1');
  form.append('response_format', 'verbose_json');
  const result = await whileBusy($('asr-transcribe'), 'asr-status', 'Transcribing…', async () =>
    (await api('/v1/audio/transcriptions', { method: 'POST', body: form })).json());
  $('asr-text').textContent = result.text ?? '';
  const rows = (result.segments || []).map((segment) => {
    const row = document.createElement('tr');
    for (const value of [segment.start?.toFixed(2), segment.end?.toFixed(2), segment.text]) {
      const cell = document.createElement('td');
      cell.textContent = value ?? '';
      row.append(cell);
    }
    return row;
  });
  $('asr-segments').tBodies[0].replaceChildren(...rows);
}

// ---------------------------------------------------------------------------------------------
// Audio questions tab

async function ask() {
  const input = inputs.ask;
  if (!input) throw new Error('Choose an audio file or record one first.');
  const question = $('ask-question').value.trim();
  if (!question) throw new Error('Type a question about the audio.');
  const wav = new Uint8Array(await input.blob.arrayBuffer());
  const body = {
    model: 'gpt-4o-audio-preview',
    messages: [{
      role: 'user',
      content: [
        { type: 'input_audio', input_audio: { data: bytesToBase64(wav), format: 'wav' } },
        { type: 'text', text: question },
      ],
    }],
  };
  const thinking = $('ask-think').checked;
  if (thinking) body.reasoning_effort = 'high';
  const [thought, answer] = [$('ask-thinking'), $('ask-answer')];
  thought.textContent = '';
  answer.textContent = '';
  let reasoning = '';
  let content = '';
  const finish = await whileBusy($('ask-send'), 'ask-status', thinking ? 'Thinking…' : 'Answering…', () =>
    streamChat(body, (delta) => {
      if (delta.reasoning_content) thought.textContent = reasoning += delta.reasoning_content;
      if (delta.content) {
        if (!content) $('ask-status').textContent = 'Answering…';
        answer.textContent = content += delta.content;
      }
    }));
  thought.textContent = reasoning || (thinking ? '(no thinking returned)' : '(thinking off)');
  answer.textContent = content
    || (finish === 'length' ? '(no answer: the server\'s token limit was reached first)' : '(an empty answer)');
}

// A chat completion streamed as server-sent events (`stream: true`): onDelta gets each chunk's
// delta as it arrives; returns the finish_reason. A stream cut before `[DONE]` is an error.
async function streamChat(body, onDelta) {
  const response = await postJSON('/v1/chat/completions', { ...body, stream: true });
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let pending = '';
  let finish = null;
  let complete = false;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    pending += value;
    let end;
    while ((end = pending.indexOf('\n\n')) >= 0) {
      const event = pending.slice(0, end);
      pending = pending.slice(end + 2);
      for (const line of event.split('\n')) {
        if (!line.startsWith('data: ')) continue;
        if (line === 'data: [DONE]') {
          complete = true;
          continue;
        }
        const choice = JSON.parse(line.slice(6)).choices?.[0];
        if (choice?.delta) onDelta(choice.delta);
        if (choice?.finish_reason) finish = choice.finish_reason;
      }
    }
  }
  if (!complete) throw new Error('The reply stopped before it was complete: the connection closed.');
  return finish;
}

// ---------------------------------------------------------------------------------------------
// Text chat tab

// A line "You: …" or "MiMo: …" appended to a log (the text chat, the voice transcript); returns
// the element holding its text, which a streamed reply fills in.
function addMessage(logId, role, text) {
  const line = document.createElement('p');
  line.className = `message ${role}`;
  const who = document.createElement('strong');
  who.textContent = role === 'user' ? 'You: ' : 'MiMo: ';
  const body = document.createElement('span');
  body.textContent = text;
  line.append(who, body);
  $(logId).append(line);
  line.scrollIntoView({ block: 'nearest' });
  return body;
}

const chatHistory = []; // the conversation so far, sent whole with each turn

async function sendChat() {
  const text = $('chat-input').value.trim();
  if (!text) return;
  chatHistory.push({ role: 'user', content: text });
  const asked = addMessage('chat-log', 'user', text);
  $('chat-input').value = '';
  // The reply is shown as it streams in.
  const replyText = addMessage('chat-log', 'assistant', '');
  let content = '';
  try {
    await whileBusy($('chat-send'), 'chat-status', 'Waiting for the reply…', () =>
      streamChat({ model: 'gpt-4o-audio-preview', messages: chatHistory }, (delta) => {
        if (delta.content) replyText.textContent = content += delta.content;
      }));
  } catch (error) {
    // Take the failed turn back so the user can edit and resend it.
    chatHistory.pop();
    asked.parentElement.remove();
    replyText.parentElement.remove();
    $('chat-input').value = text;
    throw error;
  }
  chatHistory.push({ role: 'assistant', content });
}

function clearChat() {
  chatHistory.length = 0;
  $('chat-log').replaceChildren();
  $('chat-status').textContent = '';
}

// ---------------------------------------------------------------------------------------------
// Voice chat tab: the Realtime WebSocket

const APPEND_INTERVAL_MS = 100;
const PREROLL_SAMPLES = SAMPLE_RATE / 2; // kept before speech_started, for the utterance view

const voice = {
  socket: null,
  mic: null,
  player: null,
  timer: null,
  pending: [], // mic blocks not yet sent
  recent: [], // the last ~0.5 s of mic audio, the start of the next utterance
  utterance: null, // mic blocks since speech_started
  speechStoppedAt: null, // performance.now() at speech_stopped, until the first reply audio
  responseId: null, // the response in progress
  interrupted: new Set(), // responses cut by a barge-in: their late audio is dropped
  replyLine: null,
  userLines: new Map(), // item id → the transcript line of that user turn
  replyItemId: null, // the assistant item being played, which a barge-in truncates
  turns: 0,
  bargeIns: 0,
  truncations: 0,
};

function voiceStatus(text) {
  const status = $('voice-status');
  status.textContent = text;
  status.dataset.turns = voice.turns;
  status.dataset.bargeIns = voice.bargeIns;
  status.dataset.truncations = voice.truncations;
}


function realtimeUrl() {
  const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
  return `${scheme}://${location.host}/v1/realtime`;
}

function sendEvent(event) {
  if (voice.socket?.readyState === WebSocket.OPEN) voice.socket.send(JSON.stringify(event));
}

// Called with each 24 kHz mic block.
function onMicBlock(block) {
  voice.pending.push(block);
  if (voice.utterance) voice.utterance.push(block);
  voice.recent.push(block);
  let kept = voice.recent.reduce((sum, b) => sum + b.length, 0);
  while (voice.recent.length > 1 && kept - voice.recent[0].length >= PREROLL_SAMPLES) {
    kept -= voice.recent.shift().length;
  }
}

// Every ~100 ms: what the mic gave since, as one append (server VAD commits and answers).
function flushMic() {
  if (!voice.pending.length) return;
  const samples = concatFloat(voice.pending);
  voice.pending = [];
  sendEvent({ type: 'input_audio_buffer.append', audio: bytesToBase64(floatToPcm16(samples)) });
}

async function startVoice() {
  if (voice.socket) return;
  voiceStatus('Opening the microphone…');
  voice.mic = await openMicrophone(onMicBlock);
  // Replies play through the mic's context, which lets the browser's echo cancellation see them.
  voice.player = new PcmPlayer(voice.mic.context);
  const key = apiKey();
  // Browsers cannot set headers on a WebSocket: the key travels as a subprotocol.
  const socket = key ? new WebSocket(realtimeUrl(), ['realtime', `openai-insecure-api-key.${key}`])
    : new WebSocket(realtimeUrl());
  voice.socket = socket;
  $('voice-start').disabled = true;
  $('voice-stop').disabled = false;
  voiceStatus('Connecting…');

  socket.onopen = () => {
    const chosen = $('voice-voice').value || 'alloy';
    sendEvent({
      type: 'session.update',
      session: { type: 'realtime', audio: { input: { transcription: { model: 'whisper-1' } }, output: { voice: chosen } } },
    });
    voice.timer = setInterval(flushMic, APPEND_INTERVAL_MS);
    voiceStatus('Connected: speak when you like.');
  };
  socket.onmessage = (message) => {
    if (voice.socket !== socket) return; // a late event after Stop
    try {
      onRealtimeEvent(JSON.parse(message.data));
    } catch (error) {
      showError(`Bad realtime event: ${error.message}`);
    }
  };
  socket.onerror = () => showError('The realtime connection failed.');
  socket.onclose = (event) => {
    if (voice.socket !== socket) return; // closed by Stop
    stopVoice();
    voiceStatus(`Disconnected (${event.code}${event.reason ? `: ${event.reason}` : ''}).`);
  };
}

function stopVoice() {
  const socket = voice.socket;
  voice.socket = null;
  socket?.close();
  clearInterval(voice.timer);
  voice.timer = null;
  voice.player?.stop();
  voice.mic?.close();
  voice.mic = null;
  voice.pending = [];
  voice.recent = [];
  voice.userLines.clear();
  voice.utterance = null;
  voice.responseId = null;
  $('voice-start').disabled = false;
  $('voice-stop').disabled = true;
  voiceStatus('Not connected.');
}

function onRealtimeEvent(event) {
  switch (event.type) {
    case 'input_audio_buffer.speech_started': return onSpeechStarted();
    case 'input_audio_buffer.speech_stopped': return onSpeechStopped();
    case 'input_audio_buffer.committed':
      // "(speech)" until the server's transcript of it arrives, after the reply.
      voice.userLines.set(event.item_id, addMessage('voice-transcript', 'user', '(speech)'));
      voice.userLines.get(event.item_id).dataset.item = event.item_id; // the test finds it by item
      return undefined;
    case 'conversation.item.input_audio_transcription.delta':
    case 'conversation.item.input_audio_transcription.completed':
    case 'conversation.item.input_audio_transcription.failed': return onUserTranscript(event);
    case 'response.created':
      voice.responseId = event.response?.id ?? null;
      voice.replyLine = null;
      voice.replyItemId = null;
      voice.player.newClip();
      return voiceStatus('Answering…');
    case 'response.output_audio_transcript.delta':
    case 'response.output_text.delta':
      if (voice.interrupted.has(event.response_id)) return undefined;
      voice.replyLine ??= addMessage('voice-transcript', 'assistant', '');
      voice.replyLine.textContent += event.delta;
      return undefined;
    case 'response.output_item.added':
      voice.replyItemId = event.item?.id ?? null;
      return undefined;
    case 'response.output_audio.delta': return onAudioDelta(event);
    case 'response.done': return onResponseDone(event.response || {});
    case 'conversation.item.truncated':
      voice.truncations++;
      return voiceStatus($('voice-status').textContent);
    case 'error':
      // A cut that came too late (the next reply had begun from the whole one) changes nothing
      // the user can act on: noted in the status, not raised as an error.
      if (event.error?.event_id?.startsWith('cut_')) return voiceStatus(`Listening (${event.error.message})`);
      showError(event.error?.message || 'The realtime session reported an error.');
      return undefined;
    default:
      return undefined; // session.created/updated, item events: nothing to show
  }
}

// Barge-in: the user talks over the reply, so it stops here at once (the server cancels its
// side of the response by itself).
function onSpeechStarted() {
  if (voice.responseId || voice.player.playing) {
    voice.player.stop();
    // The server keeps the whole reply unless told how much of it was heard (OpenAI's
    // conversation.item.truncate), so the conversation goes on from what the user heard.
    if (voice.replyItemId) {
      sendEvent({
        type: 'conversation.item.truncate', event_id: `cut_${voice.replyItemId}`, item_id: voice.replyItemId,
        content_index: 0, audio_end_ms: Math.round(voice.player.played() * 1000),
      });
      voice.replyItemId = null;
    }
    if (voice.responseId) voice.interrupted.add(voice.responseId);
    if (voice.replyLine) voice.replyLine.textContent = `${voice.replyLine.textContent || '(speech)'} (interrupted)`;
    voice.bargeIns++;
  }
  voice.utterance = [...voice.recent];
  voiceStatus('Listening…');
}

function onUserTranscript(event) {
  const line = voice.userLines.get(event.item_id);
  if (!line) return;
  if (event.type.endsWith('.delta')) {
    line.textContent = line.dataset.partial = (line.dataset.partial || '') + event.delta;
  } else if (event.type.endsWith('.completed')) {
    line.textContent = event.transcript || '(nothing recognised)';
    voice.userLines.delete(event.item_id);
  } else {
    line.textContent = `(speech; no transcript: ${event.error?.message || 'failed'})`;
    voice.userLines.delete(event.item_id);
  }
}

function onSpeechStopped() {
  voice.speechStoppedAt = performance.now();
  if (voice.utterance?.length) showAudio('voice-in', concatFloat(voice.utterance), 'you');
  voice.utterance = null;
  voiceStatus('Waiting for the reply…');
}

function onAudioDelta(event) {
  if (voice.interrupted.has(event.response_id)) return;
  voice.replyItemId = event.item_id ?? voice.replyItemId;
  // The line exists from the first audio on: a reply may be speech with no transcript yet.
  voice.replyLine ??= addMessage('voice-transcript', 'assistant', '');
  if (voice.speechStoppedAt !== null) {
    recordLatency(performance.now() - voice.speechStoppedAt);
    voice.speechStoppedAt = null;
  }
  voice.player.push(base64ToBytes(event.delta));
}

function recordLatency(ms) {
  voice.turns++;
  const item = document.createElement('li');
  item.dataset.ms = Math.round(ms);
  item.textContent = `Turn ${voice.turns}: ${(ms / 1000).toFixed(2)} s`;
  $('voice-latency').append(item);
  voiceStatus('Speaking…');
}

function onResponseDone(response) {
  const samples = voice.player.samples();
  if (samples.length) showAudio('voice-out', samples, 'reply');
  // The server's own split of the time to the first audio, when it sends one.
  const timings = response.timings_ms;
  const last = $('voice-latency').lastElementChild;
  if (timings && last && !last.dataset.server) {
    last.dataset.server = 'yes';
    const parts = Object.entries(timings).map(([name, ms]) => `${name.replaceAll('_', ' ')} ${Math.round(ms)} ms`);
    last.textContent += ` (server: ${parts.join(', ')})`;
  }
  if (response.id === voice.responseId) voice.responseId = null;
  if (voice.replyLine && !voice.replyLine.textContent) voice.replyLine.textContent = '(speech)'; // no transcript came
  voiceStatus(response.status === 'cancelled' ? 'Interrupted: listening.' : 'Listening.');
}

// ---------------------------------------------------------------------------------------------
// Tabs: arrow keys, Home and End move between tabs (automatic activation)

function setupTabs() {
  const tabs = [...document.querySelectorAll('[role="tab"]')];
  const select = (tab, focus) => {
    for (const other of tabs) {
      const selected = other === tab;
      other.setAttribute('aria-selected', String(selected));
      other.tabIndex = selected ? 0 : -1;
      $(other.getAttribute('aria-controls')).hidden = !selected;
    }
    if (focus) tab.focus();
    history.replaceState(null, '', `#${tab.id.replace(/^tab-/, '')}`);
  };
  tabs.forEach((tab, index) => {
    tab.addEventListener('click', () => select(tab, false));
    tab.addEventListener('keydown', (event) => {
      const target = {
        ArrowRight: tabs[(index + 1) % tabs.length],
        ArrowLeft: tabs[(index - 1 + tabs.length) % tabs.length],
        Home: tabs[0],
        End: tabs[tabs.length - 1],
      }[event.key];
      if (!target) return;
      event.preventDefault();
      select(target, true);
    });
  });
  // A link such as /#voice opens that tab.
  const fromHash = $(`tab-${location.hash.slice(1)}`);
  if (fromHash && tabs.includes(fromHash)) select(fromHash, false);
}

// ---------------------------------------------------------------------------------------------
// Start-up

function setupApiKey() {
  const field = $('api-key');
  field.value = sessionStorage.getItem(KEY_STORAGE) || '';
  field.addEventListener('input', () => {
    if (apiKey()) sessionStorage.setItem(KEY_STORAGE, apiKey());
    else sessionStorage.removeItem(KEY_STORAGE);
  });
  field.addEventListener('change', guarded(async () => {
    await loadVoices(); // a new key may open what the old one could not
  }));
}

function init() {
  setupTabs();
  setupApiKey();
  setupAudioInput('asr');
  setupAudioInput('ask');
  $('asr-transcribe').dataset.needsInput = 'asr';
  $('ask-send').dataset.needsInput = 'ask';

  $('tts-speak').addEventListener('click', guarded(speak));
  $('tts-stop').addEventListener('click', stopSpeech);
  $('asr-transcribe').addEventListener('click', guarded(transcribe));
  $('ask-send').addEventListener('click', guarded(ask));
  $('chat-send').addEventListener('click', guarded(sendChat));
  $('chat-clear').addEventListener('click', clearChat);
  $('chat-input').addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      $('chat-send').click();
    }
  });
  $('voice-start').addEventListener('click', guarded(async () => {
    try {
      await startVoice();
    } catch (error) {
      stopVoice();
      throw error;
    }
  }));
  $('voice-stop').addEventListener('click', stopVoice);

  guarded(loadVoices)();
}

init();
