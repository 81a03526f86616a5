"""Ingest: MQTT subscriber -> validation -> batched, idempotent writes."""
