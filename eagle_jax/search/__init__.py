"""BRP-NAS search: iterative selection, latency constraints, zero-cost warm-up, Eagle logs and traces, replay."""
