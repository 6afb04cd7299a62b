"""What a new API container does before its first request (a module of its own, so a
worker imports nothing of the local runtime's server to run it)."""

from __future__ import annotations


def api() -> bool:
    """What a container's first request would pay for: settings from SSM, the storage client."""
    from tracking_api import api as app

    settings = app.settings_loader().get()
    return app.repository(settings.table_name).client is not None
