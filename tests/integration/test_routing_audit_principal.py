"""With authentication on, routing's audit names the token's subject as the author of a rule-set
change, whatever author the request claims; the rule set record says the same."""

from __future__ import annotations

import grpc
import pytest

from services.common.auth import authorized_channel, mint_token
from services.common.pb.haq.v1 import routing_pb2, routing_pb2_grpc
from services.common.settings import Settings
from tests.integration.test_routing_admin import candidate_v2

pytestmark = pytest.mark.integration

SECRET = "routing-audit-test-secret-0123456789-abcdef"


def test_rule_set_author_is_the_token_subject_not_the_request(settings: Settings, start_service) -> None:
    start_service("routing", HAQ_AUTH_SECRET=SECRET)
    alice = mint_token(SECRET, "alice", settings.tenant, ["admin"])
    channel = authorized_channel(settings.grpc_target("routing"), alice)
    with channel:
        stub = routing_pb2_grpc.RoutingAdminStub(channel)
        version = stub.ApplyRuleSet(
            routing_pb2.ApplyRuleSetRequest(
                source=candidate_v2(), file_name="v2.yaml", author="mallory", comment="lower"
            ),
            timeout=10,
        )
        assert version.author == "alice"
        rolled = stub.RollbackRuleSet(
            routing_pb2.RollbackRuleSetRequest(author="mallory", comment="undo"), timeout=10
        )
        assert rolled.version == "builtin-2"

        entries = stub.ListAudit(routing_pb2.ListAuditRequest(), timeout=10).entries
        by_action = {e.action: e for e in entries}
        assert by_action["rules.apply"].actor == "alice"
        assert by_action["rules.apply"].target == "v2-low"
        assert by_action["rules.rollback"].actor == "alice"
        assert all(e.actor != "mallory" for e in entries)

        # The token is still required: no token, no change.
        anonymous = grpc.insecure_channel(settings.grpc_target("routing"))
        with anonymous, pytest.raises(grpc.RpcError) as refused:
            routing_pb2_grpc.RoutingAdminStub(anonymous).ApplyRuleSet(
                routing_pb2.ApplyRuleSetRequest(source=candidate_v2(), author="mallory"), timeout=10
            )
        assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED
