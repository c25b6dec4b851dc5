"""Problem details become one exception class per status, carrying what the server said."""

from __future__ import annotations

import pytest

from prism.client import (
    ClientError,
    Conflict,
    Forbidden,
    InvalidRequest,
    NotFound,
    PrismClientError,
    ProblemError,
    RateLimited,
    RelayUnavailableError,
    RequestRejectedError,
    ServerError,
    TransportError,
    Unauthorized,
)
from prism.client.errors import problem_error


def _problem(status: int) -> dict[str, object]:
    return {"type": "urn:prism:problem:x", "title": "T", "status": status, "detail": "what happened"}


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (400, InvalidRequest),
        (401, Unauthorized),
        (403, Forbidden),
        (404, NotFound),
        (409, Conflict),
        (413, RequestRejectedError),
        (422, InvalidRequest),
        (429, RateLimited),
        (500, ServerError),
        (503, ServerError),
    ],
)
def test_each_status_has_its_class(status: int, kind: type[ProblemError]) -> None:
    error = problem_error(status, _problem(status))
    assert type(error) is kind
    assert error.status == status


def test_client_errors_are_refusals_and_server_errors_are_temporary() -> None:
    assert isinstance(problem_error(404, _problem(404)), RequestRejectedError)
    assert not isinstance(problem_error(404, _problem(404)), RelayUnavailableError)
    assert isinstance(problem_error(502, _problem(502)), RelayUnavailableError)
    assert issubclass(TransportError, RelayUnavailableError)
    assert PrismClientError is ClientError


def test_the_problem_fields_are_kept() -> None:
    problem = {
        "type": "urn:prism:problem:validation",
        "title": "Invalid input",
        "status": 422,
        "detail": "quantity: must be positive",
        "errors": [{"field": "quantity", "message": "must be positive"}, {"field": "price", "message": "missing"}],
    }
    error = problem_error(422, problem)
    assert (error.code, error.title, error.detail, error.field) == (
        "validation",
        "Invalid input",
        "quantity: must be positive",
        "quantity",
    )
    assert [e["field"] for e in error.errors] == ["quantity", "price"]
    assert str(error) == "422: quantity: must be positive"
    assert error.problem == problem


def test_a_problem_without_errors_names_no_field() -> None:
    error = problem_error(404, {"title": "Not found"})
    assert error.field is None
    assert error.errors == []
    assert error.detail == "Not found"


def test_rate_limited_carries_retry_after() -> None:
    error = problem_error(429, _problem(429), retry_after=2.5)
    assert isinstance(error, RateLimited)
    assert error.retry_after == 2.5


def test_the_relay_client_constructor_still_works() -> None:
    error = RequestRejectedError(410, {"detail": "gone"})
    assert (error.status, error.detail) == (410, "gone")
