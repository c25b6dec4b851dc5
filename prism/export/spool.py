"""A temporary file whose bytes are sealed with a key that lives only in memory.

The export document is written into a temporary file before it is streamed; past a few
megabytes the file spills to the temporary folder. On a device that keeps its data
encrypted at rest, a plaintext spill would be a copy of the portfolio on disk, so
every frame of 1 MiB is sealed (XSalsa20-Poly1305, PyNaCl's SecretBox) with a random
key held only by this object: once it is closed, nothing on disk can be read.
"""

from __future__ import annotations

import io
import tempfile
from typing import IO

import nacl.secret
import nacl.utils

__all__ = ["SealedSpool"]

_FRAME = 1 << 20
_SPOOL_BYTES = 8 << 20


class SealedSpool(io.BufferedIOBase):
    """Write everything, :meth:`rewind`, then read it back in order."""

    def __init__(self) -> None:
        super().__init__()
        self._box = nacl.secret.SecretBox(nacl.utils.random(nacl.secret.SecretBox.KEY_SIZE))
        self._file: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=_SPOOL_BYTES)  # noqa: SIM115 - closed in close()
        self._pending = bytearray()
        self._plain = b""
        self._reading = False

    def writable(self) -> bool:
        return not self._reading

    def readable(self) -> bool:
        return self._reading

    def write(self, data: bytes | bytearray | memoryview) -> int:  # type: ignore[override]
        if self._reading:
            raise io.UnsupportedOperation("the spool was rewound for reading")
        self._pending += data
        while len(self._pending) >= _FRAME:
            self._seal(bytes(self._pending[:_FRAME]))
            del self._pending[:_FRAME]
        return len(data)

    def _seal(self, plain: bytes) -> None:
        sealed = self._box.encrypt(plain)
        self._file.write(len(sealed).to_bytes(4, "big") + sealed)

    def rewind(self) -> None:
        """Seal what is pending and get ready to read from the start."""
        if self._pending:
            self._seal(bytes(self._pending))
            self._pending.clear()
        self._file.seek(0)
        self._reading = True

    def read(self, size: int | None = -1) -> bytes:
        if not self._reading:
            raise io.UnsupportedOperation("rewind the spool before reading")
        wanted = None if size is None or size < 0 else size
        out = bytearray()
        while wanted is None or len(out) < wanted:
            if not self._plain:
                head = self._file.read(4)
                if not head:
                    break
                self._plain = self._box.decrypt(self._file.read(int.from_bytes(head, "big")))
            take = len(self._plain) if wanted is None else wanted - len(out)
            out += self._plain[:take]
            self._plain = self._plain[take:]
        return bytes(out)

    def close(self) -> None:
        self._file.close()
        self._plain = b""
        super().close()
