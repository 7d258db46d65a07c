"""Escalation's service layer: handlers (consumed events), actions (gRPC use cases), deadlines
(the firer), views (queries), shared (binder, ports, publishing)."""
