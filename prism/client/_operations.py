"""Operations declared once, run by a sync or an async transport.

An area of the API (portfolios, transactions, ...) is a class whose methods are
decorated with :func:`operation`: each method builds a :class:`Call` (its path
parameters, query and body) and names the wire struct it answers. The decorator
turns it into a descriptor: on an area bound to a sync transport the method returns
the decoded struct, on one bound to an async transport it returns an awaitable of
it. Both share the same :class:`Request`, so the request-building code exists once.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Concatenate, Generic, ParamSpec, Protocol, Self, TypeVar, cast, overload

__all__ = [
    "Area",
    "Async",
    "Call",
    "M",
    "Op",
    "Page",
    "Paged",
    "Request",
    "Runner",
    "Sync",
    "followed",
    "operation",
    "paged",
]

P = ParamSpec("P")
T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)
_FIELD = re.compile(r"\{(\w+)\}")


@dataclass(frozen=True)
class Call(Generic[T_co]):
    """What one call of an operation sends, and the type its answer decodes into.

    ``response`` is a msgspec struct (or other msgspec-decodable type), ``bytes`` for a
    raw body, or ``type(None)`` for 204.
    """

    response: type[T_co]
    path: Mapping[str, Any] = field(default_factory=dict)
    query: Mapping[str, Any] = field(default_factory=dict)
    body: Any = None
    content_type: str = "application/json"
    #: Extra seconds to wait for the answer (a long-poll's ``wait``).
    extra_timeout: float = 0.0


@dataclass(frozen=True)
class Request(Generic[T_co]):
    """A complete request: the operation's method and path template, and one call's values."""

    method: str
    template: str
    call: Call[T_co]
    #: Safe to send twice: retried after a failure that may have reached the server.
    idempotent: bool

    @property
    def response(self) -> type[T_co]:
        """The type the answer decodes into."""
        return self.call.response


class Sync:
    """Marker: an area whose operations return their answers."""


class Async:
    """Marker: an area whose operations return awaitables of their answers."""


M = TypeVar("M", Sync, Async)


class Runner(Protocol):
    """What an area sends requests through (see ``prism.client._transport``)."""

    asynchronous: bool

    def send(self, request: Request[Any], /) -> Any:
        """The decoded answer (sync) or an awaitable of it (async)."""


class Area(Generic[M]):
    """A group of operations bound to one transport."""

    def __init__(self, runner: Runner) -> None:
        self._runner = runner


class Op(Generic[P, T_co]):
    """An operation: HTTP method, path template and the function building its call."""

    def __init__(
        self, method: str, path: str, build: Callable[Concatenate[Any, P], Call[T_co]], *, idempotent: bool
    ) -> None:
        self.method = method
        self.path = path
        self.build = build
        self.idempotent = idempotent
        self.name = build.__name__
        self.__doc__ = build.__doc__
        self.signature = inspect.signature(build)
        self.path_params = _FIELD.findall(path)

    def request(self, area: object, *args: Any, **kwargs: Any) -> Request[T_co]:
        """The request for one call."""
        return Request(self.method, self.path, self.build(area, *args, **kwargs), self.idempotent)

    @overload
    def __get__(self, area: None, owner: type[Any]) -> Self: ...
    @overload
    def __get__(self, area: Area[Sync], owner: type[Any]) -> Callable[P, T_co]: ...
    @overload
    def __get__(self, area: Area[Async], owner: type[Any]) -> Callable[P, Awaitable[T_co]]: ...
    def __get__(self, area: Area[Any] | None, owner: type[Any]) -> Any:
        if area is None:
            return self
        runner = area._runner

        def bound(*args: Any, **kwargs: Any) -> Any:
            return runner.send(self.request(area, *args, **kwargs))

        bound.__name__ = self.name
        bound.__doc__ = self.__doc__
        return bound


def operation(
    method: str, path: str, *, idempotent: bool | None = None
) -> Callable[[Callable[Concatenate[Any, P], Call[T]]], Op[P, T]]:
    """Declare an operation; GET, PUT and DELETE are idempotent unless said otherwise.

    A POST is retried only when marked ``idempotent=True``, for a route that promises
    that sending the same body twice does what sending it once does.
    """
    safe = method in {"GET", "PUT", "DELETE"} if idempotent is None else idempotent

    def declare(build: Callable[Concatenate[Any, P], Call[T]]) -> Op[P, T]:
        return Op(method, path, build, idempotent=safe)

    return declare


class Page(Protocol[T_co]):
    """A page of a list route: ``items`` and the cursor of the next page (None on the last)."""

    @property
    def items(self) -> Sequence[T_co]: ...
    @property
    def next_cursor(self) -> str | None: ...


class Paged(Generic[P, T_co]):
    """Every item of a paged list operation, fetching page after page as it is iterated.

    ``cursor`` names the operation's cursor parameter; a cursor the caller passes is
    where iteration starts. A followed feed (``follow=True``) resumes from its
    ``next_cursor`` for ever while its ``wait`` is positive, and stops at the first
    empty page otherwise.
    """

    def __init__(self, op: Op[P, Page[T_co]], *, cursor: str = "cursor", follow: bool = False) -> None:
        self.op = op
        self.cursor = cursor
        self.follow = follow
        self.__doc__ = f"Every item of :meth:`{op.name}`, page after page."

    def _next(self, page: Page[T_co], kwargs: dict[str, Any]) -> str | None:
        if self.follow and not page.items and not kwargs.get("wait"):
            return None
        return page.next_cursor

    @overload
    def __get__(self, area: None, owner: type[Any]) -> Self: ...
    @overload
    def __get__(self, area: Area[Sync], owner: type[Any]) -> Callable[P, Iterator[T_co]]: ...
    @overload
    def __get__(self, area: Area[Async], owner: type[Any]) -> Callable[P, AsyncIterator[T_co]]: ...
    def __get__(self, area: Area[Any] | None, owner: type[Any]) -> Any:
        if area is None:
            return self
        op, runner, name = self.op, area._runner, self.cursor

        if runner.asynchronous:

            async def items_async(*args: Any, **kwargs: Any) -> AsyncIterator[T_co]:
                cursor = kwargs.pop(name, None)
                while True:
                    page = cast(Page[T_co], await runner.send(op.request(area, *args, **{name: cursor}, **kwargs)))
                    for item in page.items:
                        yield item
                    if (cursor := self._next(page, kwargs)) is None:
                        return

            return items_async

        def items(*args: Any, **kwargs: Any) -> Iterator[T_co]:
            cursor = kwargs.pop(name, None)
            while True:
                page = cast(Page[T_co], runner.send(op.request(area, *args, **{name: cursor}, **kwargs)))
                yield from page.items
                if (cursor := self._next(page, kwargs)) is None:
                    return

        return items


def paged(op: Op[P, Page[T]]) -> Paged[P, T]:
    """An iterator over every item of the list operation ``op``."""
    return Paged(op)


def followed(op: Op[P, Page[T]]) -> Paged[P, T]:
    """An iterator following the feed ``op`` from its ``after`` cursor (see :class:`Paged`)."""
    return Paged(op, cursor="after", follow=True)
