"""Prometheus metrics of one ingest process (its own registry, so tests can read it)."""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server


class IngestMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.messages = Counter(
            "aic_ingest_messages_received", "MQTT messages received", ["kind"], registry=r
        )
        self.rows = Counter("aic_ingest_rows_written", "telemetry rows stored", registry=r)
        self.events = Counter("aic_ingest_events_written", "events stored", registry=r)
        self.duplicates = Counter(
            "aic_ingest_duplicates", "readings and events already stored", registry=r
        )
        self.quarantined = Counter(
            "aic_ingest_quarantined", "messages quarantined", ["reason"], registry=r
        )
        self.batch_size = Histogram(
            "aic_ingest_batch_messages",
            "messages per committed batch",
            buckets=(1, 10, 50, 100, 500, 1000, 2000, 5000, 10000),
            registry=r,
        )
        self.batch_seconds = Histogram(
            "aic_ingest_batch_seconds",
            "time to write and commit one batch",
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
            registry=r,
        )
        self.lag_seconds = Histogram(
            "aic_ingest_lag_seconds",
            "reading ts to commit",
            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 60, 600, 3600),
            registry=r,
        )
        # Read when scraped, so they move during a database stall too (see watch()).
        self.queue_depth = Gauge(
            "aic_ingest_queue_depth", "messages received, not yet stored", registry=r
        )
        self.queue_bytes = Gauge(
            "aic_ingest_queue_bytes", "payload bytes held for messages not yet stored", registry=r
        )
        self.held_readings = Gauge(
            "aic_ingest_held_readings",
            "parsed readings in memory: queued, and in the batch being written",
            registry=r,
        )
        self.oldest_unacked = Gauge(
            "aic_ingest_oldest_unacked_seconds",
            "age of the oldest message received and not yet stored and acknowledged",
            registry=r,
        )
        self.queue_full = Counter(
            "aic_ingest_queue_full", "times the queue was full (broker holds the rest)", registry=r
        )
        self.db_errors = Counter(
            "aic_ingest_db_errors", "failed batch attempts (retried)", registry=r
        )
        self.gaps_opened = Counter("aic_ingest_seq_gaps_opened", "seq gaps opened", registry=r)
        self.gaps_closed = Counter("aic_ingest_seq_gaps_closed", "seq gaps filled", registry=r)

    def watch(
        self,
        *,
        depth: Callable[[], float],
        size: Callable[[], float],
        oldest_age: Callable[[], float],
        readings: Callable[[], float] | None = None,
    ) -> None:
        """Let the gauges read the live queue and writer when scraped."""
        self.queue_depth.set_function(depth)
        self.queue_bytes.set_function(size)
        self.oldest_unacked.set_function(oldest_age)
        if readings is not None:
            self.held_readings.set_function(readings)

    def value(self, name: str, labels: dict[str, str] | None = None) -> float:
        """Current value of a sample (``..._total`` for counters); 0 when absent."""
        got = self.registry.get_sample_value(name, labels or {})
        return float(got) if got is not None else 0.0

    def total(self, name: str) -> float:
        """Sum of a labelled counter over all its labels (e.g. quarantined, every reason)."""
        return sum(
            s.value
            for fam in self.registry.collect()
            if fam.name == name
            for s in fam.samples
            if s.name.endswith("_total")
        )

    def serve(self, port: int, addr: str = "127.0.0.1") -> None:
        """Expose /metrics on a port."""
        start_http_server(port, addr=addr, registry=self.registry)
