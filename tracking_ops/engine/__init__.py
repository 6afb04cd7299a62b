"""Pulumi's real engine for this project: the pinned CLI built from its published Go
modules (``invoke engine``), and the sandbox switch that runs any deploy task on it
with the stand-in ``aws`` provider (``tracking_ops/standin_cloud/``)."""
