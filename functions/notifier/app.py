"""Lambda entry point of the stream notifier: handler ``app.handler``."""

from tracking_notifier.handler import handler

__all__ = ["handler"]
