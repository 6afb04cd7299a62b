"""Deploy orchestration beyond one engine call: review before apply, fingerprints
(stale consumers, unchanged layers), status, and the smoke test of a deployed API."""
