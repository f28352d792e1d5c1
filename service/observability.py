"""Prometheus metrics (own registry, exposed at GET /metrics)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

REGISTRY = CollectorRegistry()
REQUESTS = Counter("wegwijzer_requests_total", "HTTP requests", ["endpoint", "status"], registry=REGISTRY)
LATENCY = Histogram("wegwijzer_request_seconds", "HTTP request latency", ["endpoint"], registry=REGISTRY,
                    buckets=(0.002, 0.004, 0.006, 0.008, 0.01, 0.015, 0.02, 0.03, 0.05, 0.1, 0.25, 0.5, 1, 2.5))
ROUTES = Counter("wegwijzer_routes_total", "Routing decisions", ["target", "fallback"], registry=REGISTRY)
LABELS = Counter("wegwijzer_labels_total", "Predicted labels", ["head", "label"], registry=REGISTRY)
ABSTAIN = Counter("wegwijzer_abstentions_total", "Heads below their abstention threshold", ["head"],
                  registry=REGISTRY)
SUGGEST = Counter("wegwijzer_suggestions_total", "Suggestion results", ["result"], registry=REGISTRY)
BATCH = Histogram("wegwijzer_micro_batch_posts", "Posts per micro-batch of single-post triage requests",
                  registry=REGISTRY, buckets=(1, 2, 4, 8, 16, 32, 64))
INCIDENTS_OPEN = Gauge("wegwijzer_incidents_open", "Open incidents", registry=REGISTRY)
INCIDENT_POSTS = Counter("wegwijzer_incident_posts_joined_total", "Posts assigned to an incident (opening or joining)",
                         registry=REGISTRY)
SYNC_LAG = Histogram("wegwijzer_sync_lag_seconds", "From a change's write (any replica) to this replica applying it",
                     registry=REGISTRY, buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 60))
SYNC_CONNECTED = Gauge("wegwijzer_sync_connected", "1 while this replica listens for other replicas' changes",
                       registry=REGISTRY)
