"""Measurements: benchmarks against raw boto3 and bounded load runs."""
