"""The telemetry scrubber: whatever reaches it, nothing personal leaves."""

from __future__ import annotations

from prism.telemetry import Report, RouteTimings, count_bucket, encode_report, scrub

TEMPLATES = {"/api/v1/portfolios/{portfolio_id}", "/api/v1/holdings"}
PERSONAL = [
    "DE0007164600",
    "jane.doe@example.org",
    "12,345.67",
    "/Users/jane",
    "3f2c9a1e-7d4b-4c1a-9e2f-0a1b2c3d4e5f",
    "prism_tok_8fJ2kQ9xLmN4pR7sT1vW",
    "Jane Doe",
]


def _polluted() -> Report:
    return Report(
        version="0.1.0 jane.doe@example.org",
        mode="device",
        python="3.11.7",
        system="Linux /Users/jane",
        portfolios="12,345.67",
        assets="10-99",
        transactions="1000-9999",
        routes=[
            RouteTimings(
                route="/api/v1/holdings", method="GET", status="2xx", count=3, seconds=0.01, buckets={"0.005": 2}
            ),
            RouteTimings(
                route="/api/v1/portfolios/3f2c9a1e-7d4b-4c1a-9e2f-0a1b2c3d4e5f",
                method="GET",
                status="2xx",
                count=1,
                seconds=0.1,
                buckets={},
            ),
            RouteTimings(
                route="/api/v1/assets/DE0007164600", method="GET", status="4xx", count=1, seconds=0.1, buckets={}
            ),
            RouteTimings(route="/api/v1/holdings", method="Jane Doe", status="2xx", count=1, seconds=0.1, buckets={}),
            RouteTimings(
                route="/api/v1/portfolios/{portfolio_id}",
                method="GET",
                status="2xx",
                count=1,
                seconds=0.1,
                buckets={"prism_tok_8fJ2kQ9xLmN4pR7sT1vW": 1, "+Inf": 1},
            ),
        ],
    )


def test_nothing_personal_survives_the_scrubber() -> None:
    sent = encode_report(scrub(_polluted(), TEMPLATES)).decode()
    for value in PERSONAL:
        assert value not in sent, value


def test_the_harmless_figures_survive_it() -> None:
    clean = scrub(_polluted(), TEMPLATES)
    assert (clean.mode, clean.python, clean.assets, clean.transactions) == ("device", "3.11.7", "10-99", "1000-9999")
    assert [(r.route, r.method, r.count) for r in clean.routes] == [
        ("/api/v1/holdings", "GET", 3),
        ("/api/v1/holdings", "", 1),
        ("/api/v1/portfolios/{portfolio_id}", "GET", 1),
    ]
    assert clean.routes[2].buckets == {"+Inf": 1}


def test_counts_are_orders_of_magnitude() -> None:
    assert [count_bucket(n) for n in (0, 1, 9, 10, 99, 100, 12_345)] == [
        "0",
        "1-9",
        "1-9",
        "10-99",
        "10-99",
        "100-999",
        "10000-99999",
    ]
