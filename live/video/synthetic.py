"""A synthetic publisher source: a moving pattern stamped with its capture time, a tone.

Each video frame carries a frame counter and its wall-clock capture time as a grid of
black/white 16 px blocks at the top-left, which survive H.264 compression; a checker
reading HLS segments recovers them with ``read_stamp`` and computes glass-to-glass
latency. ``PartDecoder`` is the checker's player: it decodes LL-HLS parts (fMP4 fragments) in
order with one decoder, as a player does. Used by the tests, the benchmark and for
demos without a camera.
"""

from __future__ import annotations

import asyncio
import fractions
import io
import re
import time

import av
import numpy as np
from aiortc import MediaStreamTrack
from aiortc.mediastreams import VideoStreamTrack

BLOCK = 16
COUNTER_BITS = 24
TIME_BITS = 44  #: capture time in ms since the epoch, modulo 2**44 (~557 years)
STAMP_BITS = COUNTER_BITS + TIME_BITS
AUDIO_RATE = 48000
AUDIO_SAMPLES = 960  #: 20 ms, one Opus frame


def _bits(counter: int, capture_ms: int) -> list[int]:
    value = (counter % (1 << COUNTER_BITS)) << TIME_BITS | (capture_ms % (1 << TIME_BITS))
    return [(value >> (STAMP_BITS - 1 - i)) & 1 for i in range(STAMP_BITS)]


def draw_stamp(luma: np.ndarray, counter: int, capture_ms: int) -> None:
    """Write the stamp into a luma plane (uint8, height x width) in place."""
    per_row = luma.shape[1] // BLOCK
    for i, bit in enumerate(_bits(counter, capture_ms)):
        row, col = divmod(i, per_row)
        luma[row * BLOCK : (row + 1) * BLOCK, col * BLOCK : (col + 1) * BLOCK] = 235 if bit else 16


def read_stamp(frame: av.VideoFrame) -> tuple[int, int]:
    """(frame counter, capture time in ms) read back from a decoded frame."""
    luma = frame.to_ndarray(format="gray")
    per_row = luma.shape[1] // BLOCK
    value = 0
    for i in range(STAMP_BITS):
        row, col = divmod(i, per_row)
        y, x = row * BLOCK + BLOCK // 2, col * BLOCK + BLOCK // 2
        bit = int(luma[y - 3 : y + 3, x - 3 : x + 3].mean() > 128)
        value = value << 1 | bit
    return value >> TIME_BITS, value & ((1 << TIME_BITS) - 1)


class PatternVideoTrack(VideoStreamTrack):
    """30 fps moving gradient with the stamp; yuv420p built directly (cheap to make)."""

    def __init__(self, width: int = 640, height: int = 360) -> None:
        super().__init__()
        self.width, self.height = width, height
        ramp = (np.arange(width * 2) * 220 // (width * 2) + 16).astype(np.uint8)
        self._ramp = np.tile(ramp, (height, 1))
        self._chroma = np.full((height // 2, width), 128, dtype=np.uint8)
        self.counter = 0

    async def recv(self) -> av.VideoFrame:
        pts, time_base = await self.next_timestamp()
        shift = (self.counter * 8) % self.width
        luma = np.ascontiguousarray(self._ramp[:, shift : shift + self.width])
        draw_stamp(luma, self.counter, int(time.time() * 1000))
        frame = av.VideoFrame.from_ndarray(np.vstack([luma, self._chroma]), format="yuv420p")
        frame.pts, frame.time_base = pts, time_base
        self.counter += 1
        return frame


class ToneAudioTrack(MediaStreamTrack):
    """A 440 Hz sine in 20 ms frames, paced in real time."""

    kind = "audio"

    def __init__(self, frequency: float = 440.0) -> None:
        super().__init__()
        self.frequency = frequency
        self._start: float | None = None
        self._samples = 0

    async def recv(self) -> av.AudioFrame:
        if self._start is None:
            self._start = time.time()
        else:
            self._samples += AUDIO_SAMPLES
            wait = self._start + self._samples / AUDIO_RATE - time.time()
            if wait > 0:
                await asyncio.sleep(wait)
        t = (np.arange(AUDIO_SAMPLES) + self._samples) / AUDIO_RATE
        tone = (np.sin(2 * np.pi * self.frequency * t) * 8000).astype(np.int16)
        frame = av.AudioFrame.from_ndarray(tone.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = AUDIO_RATE
        frame.pts = self._samples
        frame.time_base = fractions.Fraction(1, AUDIO_RATE)
        return frame


class PartDecoder:
    """Decodes a rendition's fMP4 parts or segments in order, like a player's decoder.

    A part that does not start with an IDR decodes only after the parts before it, so
    one H.264 decoder is kept across calls (single-threaded: no frame of delay).
    """

    def __init__(self, init: bytes) -> None:
        self.init = init
        self._codec: av.VideoCodecContext | None = None

    def frames(self, media: bytes) -> list[av.VideoFrame]:
        out: list[av.VideoFrame] = []
        with av.open(io.BytesIO(self.init + media), mode="r") as container:
            stream = container.streams.video[0]
            if self._codec is None:
                codec = av.VideoCodecContext.create("h264", "r")
                codec.extradata = stream.codec_context.extradata
                codec.thread_count = 1
                self._codec = codec
            for packet in container.demux(stream):
                if packet.size:
                    out.extend(self._codec.decode(packet))
        return out


_ATTR = re.compile(r'([A-Z-]+)=("[^"]*"|[^,]*)')


def playlist_entries(text: str) -> tuple[int, list[tuple[int, str, float]], list[str]]:
    """(media sequence, parts as (msn, uri, duration), segment uris) of a media playlist."""
    sequence = 0
    parts: list[tuple[int, str, float]] = []
    segments: list[str] = []
    for line in text.splitlines():
        if line.startswith("#EXT-X-MEDIA-SEQUENCE:"):
            sequence = int(line.split(":")[1])
        elif line.startswith("#EXT-X-PART:"):
            attrs = {k: v.strip('"') for k, v in _ATTR.findall(line)}
            parts.append((sequence + len(segments), attrs["URI"], float(attrs["DURATION"])))
        elif line and not line.startswith("#"):
            segments.append(line)
    return sequence, parts, segments
