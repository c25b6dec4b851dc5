"""A typed client for the blind relay (docs/sync-protocol.md §6).

Anonymous calls (creating an account, joining one) need only the relay's URL; every
other call is signed with the device's Ed25519 key, so set :attr:`RelayClient.identity`
once the device has one::

    async with RelayClient("https://relay.example") as relay:
        account = await relay.create_account(device_id, signing_key.verify_key)
        relay.identity = RelayIdentity(account, device_id, signing_key)
        seq = await relay.push(sealed_change_set)
"""

from __future__ import annotations

import base64
import time
import uuid
from types import TracebackType
from typing import Any, NamedTuple, Self

import httpx
import msgspec
import nacl.signing

from prism.client.errors import ClientError, RelayUnavailableError, problem_error
from prism.client.signing import sign_request

__all__ = [
    "CompactionEntry",
    "DeviceEntry",
    "EnvelopeEntry",
    "JoinedEntry",
    "PullPage",
    "RelayClient",
    "RelayIdentity",
    "RelayStorageEntry",
    "SnapshotEntry",
    "StoredSet",
]


class RelayIdentity(NamedTuple):
    """Who signs requests: the relay account, this device's id and its signing key."""

    account_id: uuid.UUID
    device_id: str
    signing_key: nacl.signing.SigningKey


class StoredSet(msgspec.Struct, frozen=True):
    """One sealed change set as the relay filed it."""

    seq: int
    body: bytes


class PullPage(msgspec.Struct, frozen=True):
    """Sets after a cursor, in sequence order."""

    items: list[StoredSet]
    next_cursor: str | None = None
    head: int = 0  # the account's latest sequence (0 from relays that do not say)


class EnvelopeEntry(msgspec.Struct, frozen=True):
    """One data key sealed to one recipient ("passphrase", "recovery" or "device:<id>")."""

    recipient: str
    key_id: str
    sealed: bytes


class _EnvelopeList(msgspec.Struct, frozen=True):
    items: list[EnvelopeEntry]


class JoinedEntry(msgspec.Struct, frozen=True):
    """What an enrolled device gets: envelopes it can open, and the sealed account card."""

    envelopes: list[EnvelopeEntry]
    account_card: bytes


class DeviceEntry(msgspec.Struct, frozen=True):
    """An enrolled device as the relay lists it (its card is sealed; check it before trusting)."""

    device_id: str
    verify_key: str
    card: bytes | None
    revoked: bool


class SnapshotEntry(msgspec.Struct, frozen=True):
    """A complete snapshot: relay sets up to ``covers_seq`` are inside its ``chunks``."""

    snapshot_id: uuid.UUID
    device_id: str
    covers_seq: int
    chunks: int


class CompactionEntry(msgspec.Struct, frozen=True):
    """A completed snapshot and how many sets the relay dropped for it."""

    snapshot_id: uuid.UUID
    covers_seq: int
    dropped_sets: int


class RelayStorageEntry(msgspec.Struct, frozen=True):
    """What the account keeps on the relay."""

    sets: int
    set_bytes: int
    snapshot_chunks: int
    snapshot_bytes: int


class _Latest(msgspec.Struct, frozen=True):
    snapshot: SnapshotEntry | None


class _DeviceList(msgspec.Struct, frozen=True):
    items: list[DeviceEntry]


class _Account(msgspec.Struct, frozen=True):
    account_id: uuid.UUID


class _Pushed(msgspec.Struct, frozen=True):
    seq: int


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


class RelayClient:
    """The relay's HTTP API as typed methods; errors are :class:`~prism.client.ClientError`."""

    def __init__(
        self,
        base_url: str,
        *,
        identity: RelayIdentity | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: float = 15.0,
    ) -> None:
        self.identity = identity
        self.base_url = base_url.rstrip("/")
        self._timeout = timeout
        self._http = httpx.AsyncClient(
            base_url=base_url.rstrip("/") + "/relay/v1", transport=transport, timeout=timeout
        )

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

    async def _send(
        self,
        method: str,
        path: str,
        *,
        content: bytes = b"",
        params: dict[str, Any] | None = None,
        signed: bool = True,
        long_poll: float = 0.0,
    ) -> bytes:
        headers = {"Content-Type": "application/json"} if content[:1] in (b"{", b"[") else {}
        request = self._http.build_request(
            method, path, content=content, params=params, headers=headers, timeout=self._timeout + long_poll
        )
        if signed:
            if self.identity is None:
                raise ClientError("this call is signed: set RelayClient.identity first")
            account, device, key = self.identity
            request.headers.update(
                sign_request(key, account, device, method=method, path=request.url.path, body=content, now=time.time())
            )
        try:
            response = await self._http.send(request)
        except httpx.TransportError as error:
            raise RelayUnavailableError(f"relay unreachable: {error!r}") from error
        if response.status_code >= 500 or response.status_code == 429:
            raise RelayUnavailableError(f"relay answered {response.status_code}")
        if response.status_code >= 400:
            try:
                problem = response.json()
            except ValueError:
                problem = {"title": response.text[:200]}
            # The specific class (NotFound, Conflict, Unauthorized, ...), all RequestRejectedError.
            raise problem_error(response.status_code, problem if isinstance(problem, dict) else {})
        return response.content

    async def create_account(self, device_id: str, verify_key: nacl.signing.VerifyKey) -> uuid.UUID:
        """A new anonymous relay account whose first device is this one."""
        body = msgspec.json.encode({"device_id": device_id, "verify_key": _b64(bytes(verify_key))})
        answer = await self._send("POST", "/accounts", content=body, signed=False)
        return msgspec.json.decode(answer, type=_Account).account_id

    async def kdf(self, account_id: uuid.UUID) -> dict[str, Any]:
        """The public key-derivation parameters of an account's passphrase."""
        answer = await self._send("GET", f"/accounts/{account_id}/kdf", signed=False)
        return msgspec.json.decode(answer, type=dict[str, Any])

    async def join(
        self,
        account_id: uuid.UUID,
        device_id: str,
        verify_key: nacl.signing.VerifyKey,
        join_token: bytes,
        *,
        via: str = "passphrase",
    ) -> JoinedEntry:
        """Enrol this device with a token derived from the passphrase or the recovery key."""
        body = msgspec.json.encode(
            {"device_id": device_id, "verify_key": _b64(bytes(verify_key)), "join_token": _b64(join_token), "via": via}
        )
        answer = await self._send("POST", f"/accounts/{account_id}/devices", content=body, signed=False)
        return msgspec.json.decode(answer, type=JoinedEntry)

    async def put_keyring(
        self, *, kdf: dict[str, Any], join_verifier: str, recovery_verifier: str | None, account_card: bytes
    ) -> None:
        """Store the account's public key material."""
        body = {
            "kdf": kdf,
            "join_verifier": join_verifier,
            "recovery_verifier": recovery_verifier,
            "account_card": _b64(account_card),
        }
        await self._send("PUT", "/keyring", content=msgspec.json.encode(body))

    async def put_envelopes(self, envelopes: list[EnvelopeEntry]) -> None:
        """Store sealed data keys for any recipients."""
        await self._send("PUT", "/envelopes", content=msgspec.json.encode({"items": envelopes}))

    async def envelopes(self) -> list[EnvelopeEntry]:
        """The data keys sealed to this device, oldest first."""
        return msgspec.json.decode(await self._send("GET", "/envelopes"), type=_EnvelopeList).items

    async def revoke(self, device_id: str) -> None:
        """Revoke another device of the account."""
        await self._send("POST", f"/devices/{device_id}/revoke")

    async def delete_account(self) -> None:
        """Delete everything the relay holds for the account."""
        await self._send("DELETE", "/account")

    async def put_card(self, card: bytes) -> None:
        """Store this device's sealed card for its peers."""
        await self._send("PUT", "/devices/card", content=card)

    async def devices(self) -> list[DeviceEntry]:
        """The account's enrolled devices."""
        return msgspec.json.decode(await self._send("GET", "/devices"), type=_DeviceList).items

    async def push(self, sealed: bytes) -> int:
        """File a sealed change set; the relay's sequence for it (the same on a retry)."""
        return msgspec.json.decode(await self._send("POST", "/push", content=sealed), type=_Pushed).seq

    async def pull(self, after: int, *, wait: float = 0.0) -> PullPage:
        """Sets after ``after``; with ``wait``, the relay holds the call until one arrives."""
        answer = await self._send("GET", "/pull", params={"after": after, "wait": wait}, long_poll=wait)
        return msgspec.json.decode(answer, type=PullPage)

    async def put_snapshot_chunk(self, snapshot_id: uuid.UUID, chunk: int, sealed: bytes) -> None:
        """Upload one sealed snapshot chunk (again, on a retry)."""
        await self._send("PUT", f"/snapshots/{snapshot_id}/chunks/{chunk}", content=sealed)

    async def complete_snapshot(self, snapshot_id: uuid.UUID, *, covers_seq: int, chunks: int) -> CompactionEntry:
        """Make an uploaded snapshot the latest; the relay compacts."""
        body = msgspec.json.encode({"covers_seq": covers_seq, "chunks": chunks})
        answer = await self._send("POST", f"/snapshots/{snapshot_id}/complete", content=body)
        return msgspec.json.decode(answer, type=CompactionEntry)

    async def latest_snapshot(self) -> SnapshotEntry | None:
        """The account's newest complete snapshot, if any."""
        return msgspec.json.decode(await self._send("GET", "/snapshots/latest"), type=_Latest).snapshot

    async def snapshot_chunk(self, snapshot_id: uuid.UUID, chunk: int) -> bytes:
        """One sealed chunk of a complete snapshot."""
        return await self._send("GET", f"/snapshots/{snapshot_id}/chunks/{chunk}")

    async def storage(self) -> RelayStorageEntry:
        """Counts and bytes of the account's stored sets and snapshot chunks."""
        return msgspec.json.decode(await self._send("GET", "/storage"), type=RelayStorageEntry)
