"""Hostile input never answers a server error: schemathesis generates requests from each
service's own OpenAPI document (a small seeded run) against the real app, PostgreSQL and
RabbitMQ, as a stranger, a unit contact, a colleague and the organising committee."""
from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings, strategies as st

from shared.auth import issue_token
from tests.infra import SERVICES

EXAMPLES_PER_OPERATION = 8


def callers(unit_id: str) -> list[dict[str, str]]:
    def bearer(token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}
    return [{},
            bearer(issue_token(unit_id, "unit_contact", "registration", unit_id=unit_id, delegation_id="GD-GZ")),
            bearer(issue_token("member-fuzz", "unit_member", "registration", unit_id=unit_id)),
            bearer(issue_token("admin-fuzz", "organising_committee", "review"))]


@pytest.mark.parametrize("service", SERVICES)
def test_no_input_makes_a_server_error(apps, service):
    schema = schemathesis.openapi.from_wsgi("/openapi.json", apps[service].application)
    schema.validate()  # the document itself is valid OpenAPI
    headers = callers("unit-fuzz-" + service)
    failures: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert operations
    for operation in operations:
        @settings(max_examples=EXAMPLES_PER_OPERATION, derandomize=True, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy(), caller=st.sampled_from(headers))
        def call(case, caller):
            response = case.call(headers=caller)
            if response.status_code >= 500:
                failures.append(f"{case.method} {case.formatted_path} -> {response.status_code}: "
                                f"{response.text[:200]}")
        call()
    assert not failures, "\n".join(failures[:20])
