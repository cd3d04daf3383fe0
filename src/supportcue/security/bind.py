"""Whether `serve` may listen on a host: a non-loopback address only once someone can log in."""

from __future__ import annotations

import ipaddress

from supportcue.errors import SupportcueError


def is_loopback(host: str) -> bool:
    """127.0.0.0/8, ::1 and `localhost`; anything else (0.0.0.0 included) reaches a network."""
    if host.lower() in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_exposure(host: str, callers: int) -> None:
    """Refuse to listen beyond this machine while no user or key exists."""
    if callers == 0 and not is_loopback(host):
        raise SupportcueError(
            f"refusing to serve on {host}: no user or API key exists yet, so nobody could use it. "
            "Create one first (`supportcue users add NAME --role admin` or `supportcue keys create "
            "--name NAME --role ROLE`), or serve on 127.0.0.1"
        )
