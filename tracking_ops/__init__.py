"""The orchestration package behind tasks.py: planning, deploying, synth, build,
the local runtime and benchmarks."""
