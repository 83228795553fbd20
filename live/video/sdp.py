"""The checks an SDP offer must pass before a publisher slot is claimed for it."""

from __future__ import annotations

#: Codecs accepted from publishers (browsers and OBS offer these).
VIDEO_CODECS = ("VP8", "H264")


class OfferRejected(Exception):
    """The SDP offer cannot be answered (malformed, or no usable video)."""


def check_offer(sdp: str) -> None:
    """Refuse offers without a video section in a codec we decode."""
    if not sdp.startswith("v=0"):
        raise OfferRejected("the body is not an SDP offer")
    lines = sdp.replace("\r\n", "\n").split("\n")
    if not any(line.startswith("m=video") for line in lines):
        raise OfferRejected("the offer has no video")
    rtpmaps = [
        line.partition(" ")[2].split("/")[0] for line in lines if line.startswith("a=rtpmap:")
    ]
    if not any(codec.upper() in VIDEO_CODECS for codec in rtpmaps):
        raise OfferRejected("the offer has no VP8 or H.264 video")


def offers_audio(sdp: str) -> bool:
    """Whether the publisher sends audio (an ``m=audio`` section that is not recv-only).

    A rendition gets an audio track only then: an announced track that never carries a
    sample would stall players waiting to buffer it.
    """
    sending = False
    in_audio = False
    for line in sdp.replace("\r\n", "\n").split("\n"):
        if line.startswith("m="):
            if in_audio and sending:
                return True
            in_audio, sending = line.startswith("m=audio"), True
        elif in_audio and line in ("a=recvonly", "a=inactive"):
            sending = False
    return in_audio and sending
