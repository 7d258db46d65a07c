"""Container health check: exit 0 when this container's Haq service reports SERVING over gRPC health.

The service is $SERVICE (as in the image's CMD) or the first argument; its port comes from the same
HAQ_* settings the service reads, so an overridden HAQ_<SVC>_GRPC_PORT is followed.
"""

from __future__ import annotations

import os
import sys

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from services.common.settings import SERVICES, Settings


def main(argv: list[str]) -> int:
    service = argv[1] if len(argv) > 1 else os.environ.get("SERVICE", "")
    if service not in SERVICES:
        print(f"unknown service {service!r}; expected one of {', '.join(SERVICES)}", file=sys.stderr)
        return 2
    target = f"127.0.0.1:{Settings().grpc_port(service)}"
    with grpc.insecure_channel(target) as channel:
        try:
            reply = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=3)
        except grpc.RpcError as exc:
            print(f"{service} at {target}: {exc.code().name}", file=sys.stderr)
            return 1
    status = health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status)
    print(f"{service} at {target}: {status}")
    return 0 if reply.status == health_pb2.HealthCheckResponse.SERVING else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
