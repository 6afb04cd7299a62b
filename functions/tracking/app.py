"""Lambda entry point of the tracking API: handler ``app.handler``."""

from tracking_api.api import handler

__all__ = ["handler"]
