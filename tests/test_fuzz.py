"""The OpenAPI spec fuzzed by schemathesis: whatever the inputs, no 500 and no response that
contradicts the documented schema. (Driven directly rather than through schemathesis' pytest
plugin, which does not work with this pytest.)"""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error, response_schema_conformance

from api.app import create_app
from api.settings import Settings
from tests.conftest import bearer

EXAMPLES = 15


def test_no_server_errors_and_responses_as_documented(city, admin_token):
    app = create_app(Settings(database_url=city[0], max_bulk_points=500))
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    failures, tried = [], 0
    for result in schema.get_all_operations():
        operation = result.ok()
        tried += 1

        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        def run(case):
            case.call_and_validate(headers=bearer(admin_token),
                                   checks=[not_a_server_error, response_schema_conformance])

        try:
            run()
        except (Exception, BaseExceptionGroup) as exc:  # every operation is tried; all reported
            failures.append(f"{operation.label}: {str(exc).strip()[:2000]}")
    assert tried >= 25
    assert not failures, "\n\n".join(failures)
