"""Analytics: features, detectors, time-to-failure, anomalies, model registry, evaluation."""
