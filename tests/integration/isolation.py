"""A network namespace with no route out, for the no-network tests.

Inside it only ``lo`` exists and is up, so a process can reach loopback and nothing
else: a connection or datagram to any other address fails at once with ENETUNREACH,
and the kernel counts it (``OutNoRoutes`` in ``/proc/net/snmp`` and ``/proc/net/snmp6``).
Those counters belong to the namespace, start at zero, and count every process in
it, whatever language or library made the attempt.

``ip netns`` needs root (CAP_SYS_ADMIN); without it an unprivileged user namespace
(``unshare --net --map-root-user``), held open by a sleeping process and joined with
``nsenter``, gives the same isolation.
"""

from __future__ import annotations

import shutil
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

__all__ = ["Isolation", "IsolationUnavailable", "isolated_network"]

_IP = shutil.which("ip") or "/usr/sbin/ip"
# Counters that move when something tries to leave the namespace: a route lookup that
# found nothing, or a datagram sent (the tests' own traffic is TCP over loopback only).
_ATTEMPT_COUNTERS = ("Ip.OutNoRoutes", "Ip6OutNoRoutes", "Udp.OutDatagrams", "Udp6OutDatagrams")


class IsolationUnavailable(RuntimeError):
    """Neither ``ip netns`` nor an unprivileged user namespace can be made here."""


@dataclass(frozen=True)
class Isolation:
    """A namespace with only loopback; ``enter`` prefixes a command to run it inside."""

    how: str  # "ip netns" or "unshare"
    enter: tuple[str, ...]

    def run(self, *command: str, check: bool = True, **options: Any) -> subprocess.CompletedProcess[str]:
        """Run ``command`` inside (``options`` go to :func:`subprocess.run`: ``env``, ``cwd``...)."""
        options.setdefault("timeout", 90)
        return subprocess.run([*self.enter, *command], capture_output=True, text=True, check=check, **options)

    def counters(self) -> dict[str, int]:
        """The namespace's IPv4 and IPv6 SNMP counters (``Ip.OutNoRoutes``, ``Ip6OutNoRoutes``...)."""
        found: dict[str, int] = {}
        snmp = self.run("cat", "/proc/net/snmp").stdout.splitlines()
        for names, values in zip(snmp[::2], snmp[1::2], strict=True):
            group, _, heads = names.partition(":")
            found |= {f"{group}.{n}": int(v) for n, v in zip(heads.split(), values.split(":")[1].split(), strict=True)}
        for line in self.run("cat", "/proc/net/snmp6").stdout.splitlines():
            name, value = line.split()
            found[name] = int(value)
        return found

    def attempts(self) -> dict[str, int]:
        """The counters that show an attempt to leave the namespace, those that are not zero."""
        counted = self.counters()
        return {name: counted[name] for name in _ATTEMPT_COUNTERS if counted.get(name)}

    def interfaces(self) -> list[str]:
        """The names of the namespace's network interfaces."""
        listed = self.run(_IP, "-o", "link", "show").stdout.splitlines()
        return [line.split(":")[1].strip().split("@")[0] for line in listed]


@contextmanager
def isolated_network() -> Iterator[Isolation]:
    """A fresh namespace (unique name) with only ``lo``, up; removed when the block ends.

    Raises :class:`IsolationUnavailable`, saying why, when neither way works here.
    """
    name = f"prism-nonet-{uuid.uuid4().hex[:12]}"
    try:
        made = subprocess.run([_IP, "netns", "add", name], capture_output=True, text=True, check=False)
    except FileNotFoundError:
        raise IsolationUnavailable("the `ip` command (iproute2) is not installed") from None
    failure = f"ip netns add: {made.stderr.strip() or made.returncode}"
    if made.returncode == 0:
        try:
            isolation = Isolation("ip netns", (_IP, "netns", "exec", name))
            # ``ip netns exec`` mounts /sys afresh, which some containers refuse even to root.
            up = isolation.run(_IP, "link", "set", "lo", "up", check=False)
            if up.returncode == 0:
                yield isolation
                return
            failure = f"ip netns exec: {up.stderr.strip() or up.returncode}"
        finally:
            subprocess.run([_IP, "netns", "delete", name], capture_output=True, check=False)
    with _user_namespace(failure) as isolation:
        yield isolation


@contextmanager
def _user_namespace(netns_failure: str) -> Iterator[Isolation]:
    if not (shutil.which("unshare") and shutil.which("nsenter")):
        raise IsolationUnavailable(f"{netns_failure}; and unshare/nsenter are not installed")
    holder = subprocess.Popen(
        ["unshare", "--net", "--map-root-user", "sh", "-c", f"{_IP} link set lo up && echo up && exec sleep 600"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        if holder.stdout.readline().strip() != "up":
            holder.wait(timeout=10)
            assert holder.stderr is not None
            raise IsolationUnavailable(
                f"{netns_failure}; unshare --net --map-root-user: {holder.stderr.read().strip()}"
            )
        # unshare execs sh, which execs sleep: the holder's pid is the namespace's process.
        enter = ("nsenter", f"--target={holder.pid}", "--user", "--net", "--preserve-credentials")
        yield Isolation("unshare", enter)
    finally:
        holder.kill()
        holder.communicate(timeout=10)  # reaps it and closes its pipes
