"""The tracking API function: models, domain rules, storage and routes."""
