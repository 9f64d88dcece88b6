"""Drift as Prometheus gauges: a background thread recomputes the drift report over stored traces every
``[api] drift_interval_s`` seconds (the same figures ``quarry drift report`` writes)."""

from __future__ import annotations

import logging
import threading

from prometheus_client import CollectorRegistry, Gauge

from quarry.assembly import Quarry
from quarry.evaluation.drift import CURRENT, REFERENCE, stored_drift

__all__ = ["DriftGauges"]

log = logging.getLogger("quarry.api")


class DriftGauges:
    def __init__(self, registry: CollectorRegistry) -> None:
        r = registry
        self.distance = Gauge("quarry_drift_embedding_distance", "cosine distance of mean query embeddings", registry=r)
        self.mmd2 = Gauge("quarry_drift_mmd2", "MMD squared between reference and current query embeddings", registry=r)
        self.mmd_p = Gauge("quarry_drift_mmd_p", "permutation p-value of the MMD test", registry=r)
        self.psi = Gauge("quarry_drift_psi", "population stability index by signal", ["signal"], registry=r)
        self.rate = Gauge("quarry_drift_rate", "rates in the current window", ["rate"], registry=r)
        self.detected = Gauge("quarry_drift_detected", "1 when the last drift report found drift", registry=r)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def refresh(self, quarry: Quarry) -> bool:
        """Recompute from the newest traces; False when there are too few to compare."""
        report = stored_drift(quarry.trace_store, quarry.embedder.embed, current=CURRENT, reference=REFERENCE)
        if report is None:
            return False
        self.distance.set(report.embedding_distance)
        self.mmd2.set(report.mmd2)
        self.mmd_p.set(report.mmd_p)
        for signal, value in report.psi.items():
            self.psi.labels(signal).set(value)
        for name, (_, now) in report.rates.items():
            self.rate.labels(name).set(now)
        self.rate.labels("out_of_domain").set(report.out_of_domain[1])
        self.detected.set(1.0 if report.drifted else 0.0)
        return True

    def start(self, quarry: Quarry, interval_s: float) -> None:
        if interval_s <= 0 or self._thread is not None:
            return

        def loop() -> None:
            while not self._stop.wait(interval_s):
                try:
                    self.refresh(quarry)
                except Exception:  # a failed refresh keeps the last figures; the next one tries again
                    log.exception("drift refresh failed")

        self._thread = threading.Thread(target=loop, name="quarry-drift", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
