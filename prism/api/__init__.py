"""The HTTP API: Litestar routes, wire structs, auth, and problem details.

Only this package knows HTTP: it calls storage functions, and maps the domain
errors they raise to RFC 9457 responses in one place (:mod:`prism.api.problems`).
"""

from prism.api.app import begin_shutdown, create_app

__all__ = ["begin_shutdown", "create_app"]
