"""OpenTelemetry tracing: one trace follows a complaint across gRPC calls and Kafka hops.

gRPC: the standard OpenTelemetry interceptors carry the context in metadata. Kafka: the context
travels as the CloudEvents distributed-tracing extension (`traceparent`, so the header is
`ce_traceparent`), added when an event is staged in the outbox and restored when it is consumed.
Export: OTLP when HAQ_OTLP_ENDPOINT (or OTEL_EXPORTER_OTLP_ENDPOINT) is set; JSON lines to
HAQ_TRACE_FILE when set (`{service}` in it is replaced by the service name; the tests use it to
follow one trace across processes).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from opentelemetry import propagate, trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SimpleSpanProcessor
from opentelemetry.trace import SpanKind

from .settings import Settings

_configured = threading.Lock()
_done = False
TRACE_KEYS = ("traceparent", "tracestate")


def configure_tracing(service: str, settings: Settings) -> None:
    """Process-wide, once: the tracer provider, its exporters, and gRPC client instrumentation."""
    global _done
    with _configured:
        if _done:
            return
        _done = True
        provider = TracerProvider(resource=Resource.create({"service.name": f"haq-{service}"}))
        endpoint = settings.otlp_endpoint or os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT", "")
        if endpoint:
            from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

            provider.add_span_processor(
                BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint, insecure=True))
            )
        if settings.trace_file:
            path = settings.trace_file.replace("{service}", service)  # one file per process
            out = open(path, "a", encoding="utf-8")  # noqa: SIM115 (lives with the process)
            provider.add_span_processor(
                SimpleSpanProcessor(
                    ConsoleSpanExporter(out=out, formatter=lambda span: span.to_json(indent=None) + "\n")
                )
            )
        trace.set_tracer_provider(provider)
        from opentelemetry.instrumentation.grpc import GrpcInstrumentorClient

        GrpcInstrumentorClient().instrument()


def grpc_server_interceptors() -> list[Any]:
    from opentelemetry.instrumentation.grpc import server_interceptor

    return [server_interceptor()]


def current_trace_extensions() -> dict[str, str]:
    """The active trace context as CloudEvents extension attributes (empty outside a span)."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return {k: v for k, v in carrier.items() if k in TRACE_KEYS}


@contextmanager
def consuming(
    service: str, consumer: str, event_type: str, event_id: str, extensions: Mapping[str, str]
) -> Iterator[None]:
    """A consumer span, child of the span that staged the event."""
    parent = propagate.extract({k: v for k, v in extensions.items() if k in TRACE_KEYS})
    tracer = trace.get_tracer("haq")
    with tracer.start_as_current_span(
        f"{consumer} process {event_type.rsplit('.', 1)[-1]}",
        context=parent,
        kind=SpanKind.CONSUMER,
        attributes={
            "messaging.system": "kafka",
            "messaging.operation": "process",
            "messaging.consumer.group.name": f"haq-{service}",
            "messaging.message.id": event_id,
            "cloudevents.event_type": event_type,
        },
    ):
        yield
