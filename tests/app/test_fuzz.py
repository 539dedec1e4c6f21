"""schemathesis over the whole OpenAPI, in-process: no server errors, responses that match the schema,
no undocumented status codes."""

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import positive_data_acceptance

from app.main import create_app
from app.runs import Limits

# over half the suite's time: `pytest -m "not fuzz"` leaves it out of a quick run; CI runs it
pytestmark = pytest.mark.fuzz

app = create_app(Limits(max_active=2, idle_seconds=0.2, keep_seconds=5))
schema = schemathesis.openapi.from_asgi("/openapi.json", app)


@schema.parametrize()
@settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck))
def test_api(case):
    # Hyperparameter names depend on the optimizer (and landscape and schedule) chosen in the same
    # request, which a schema cannot say; such schema-valid requests get a documented 422, so the
    # "positive data acceptance" check does not apply. Every other check does.
    case.call_and_validate(excluded_checks=[positive_data_acceptance])


@pytest.fixture(autouse=True, scope="module")
def stop_runs():
    yield
    app.state.runs.stop_all()
