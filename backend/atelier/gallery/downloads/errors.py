"""The download errors: each carries its status and code for the one translator (core/errors.py)."""

from __future__ import annotations

from atelier.core.errors import AtelierError, InvalidParameter


class DownloadError(AtelierError):
    status = 400
    code = "download_failed"


class HubUnreachable(DownloadError):
    status = 503
    type = "server_error"
    code = "hub_unreachable"


class NotEnoughDisk(DownloadError):
    status = 507
    type = "server_error"
    code = "insufficient_storage"


class NotDownloadable(InvalidParameter):
    code = "not_downloadable"


class DownloadInProgress(DownloadError):
    status = 409
    code = "download_in_progress"
