"""Whether a webhook may call a URL.

A webhook makes the server send requests where an admin says, so without care it would
reach what only the server can: the cloud's metadata service (169.254.169.254), a
database on localhost, the office network. Unless the instance allows private addresses
(``FORMFLOW_WEBHOOK_ALLOW_PRIVATE``, for hooks inside a company network), a URL whose host
resolves to any address that is not public is refused — when the hook is saved, and again
before every delivery, since DNS may have changed in between.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

SCHEMES = ("http", "https")
DEFAULT_PORTS = {"http": 80, "https": 443}

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def check_url(url: str, *, allow_private: bool) -> str | None:
    """What is wrong with calling ``url`` (a sentence for the admin), or None if nothing."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as error:
        return f"webhook URL is not a valid URL ({error})"
    if parts.scheme.lower() not in SCHEMES:
        return f"webhook URL must start with http:// or https:// (not {parts.scheme or url!r})"
    host = parts.hostname
    if not host:
        return "webhook URL has no host"
    try:
        found = socket.getaddrinfo(
            host, port or DEFAULT_PORTS[parts.scheme.lower()], type=socket.SOCK_STREAM
        )
    except (OSError, UnicodeError):
        return f"webhook URL's host {host} cannot be resolved"
    if allow_private:
        return None
    for *_, sockaddr in found:
        address = _address(str(sockaddr[0]))
        if address is None or not _public(address):
            return (
                f"webhook URL points at a private address ({sockaddr[0]}); "
                "this instance does not allow that"
            )
    return None


def _address(text: str) -> Address | None:
    try:
        address = ipaddress.ip_address(text.split("%", 1)[0])  # an IPv6 zone: fe80::1%eth0
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        # ::ffff:127.0.0.1 is 127.0.0.1 (Python 3.11 judges it as an IPv6 address).
        return address.ipv4_mapped
    return address


def _public(address: Address) -> bool:
    return not (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_reserved
        or address.is_multicast
        or address.is_unspecified
        # Shared address space (100.64.0.0/10, carrier NAT) is none of the above, yet
        # not public either.
        or not address.is_global
    )
