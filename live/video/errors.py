"""Error codes of live video; each maps to one HTTP status through ``DomainError``."""

from __future__ import annotations

from hub.kernel.errors import Conflict, DomainError


class StreamKeyInvalid(DomainError):
    code = "stream_key_invalid"
    http_status = 401


class PublisherBusy(Conflict):
    code = "publisher_busy"


class OfferInvalid(DomainError):
    code = "offer_invalid"
    http_status = 400


class UnsupportedMediaType(DomainError):
    code = "unsupported_media_type"
    http_status = 415


class MediaWorkerUnavailable(DomainError):
    code = "media_worker_unavailable"
    http_status = 503


class SeatsFull(DomainError):
    code = "seats_full"
    http_status = 503


class RequestInvalid(DomainError):
    """A JSON body that is malformed or lacks what the endpoint needs."""

    code = "invalid_request"
