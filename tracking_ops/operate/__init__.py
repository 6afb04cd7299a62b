"""Working with a deployed environment: smoke checks, replaying the stream's DLQ."""
