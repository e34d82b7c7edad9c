"""Which webhook target URLs are allowed: the SSRF rules (docs/webhooks.md#targets).

A target is a URL the stack POSTs to from inside the account, so it must not name anything only
the stack can reach: the deployed stack accepts `https` URLs whose host is a public DNS name or a
public IP address. Private (RFC 1918, RFC 4193), loopback, link-local (169.254.0.0/16, where the
EC2/Lambda metadata endpoints live), shared (100.64.0.0/10), multicast, reserved and unspecified
addresses are refused, and so are names that only resolve inside a network (`localhost`,
`*.internal`, `*.local`, …). The local gateway (`allow_loopback`) also accepts `http` and
loopback hosts, so a receiver on the laptop works.

`check_url` runs when a target is set; `check_address` runs on every address the name resolves to
at each delivery (`handlers.webhook_http`), and the connection goes to that checked address, so a
name that later resolves to a private address (DNS rebinding) is refused too.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import SplitResult, urlsplit

from core.errors import BadRequest

MAX_URL_LENGTH = 2048
_INTERNAL_SUFFIXES = (".localhost", ".local", ".internal", ".localdomain", ".home.arpa", ".lan", ".intranet")
_INTERNAL_NAMES = frozenset({"localhost", "localhost.localdomain", "metadata", "instance-data"})
_LOOPBACK_NAMES = frozenset({"localhost"})

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class InvalidWebhookUrl(BadRequest):
    default_detail = "invalid webhook url"


def check_url(url: str, *, allow_loopback: bool = False) -> str:
    """The URL if it may be a webhook target; else `InvalidWebhookUrl` saying why."""
    if not isinstance(url, str) or not url or len(url) > MAX_URL_LENGTH:
        raise InvalidWebhookUrl(f"url must be an absolute https URL of at most {MAX_URL_LENGTH} characters")
    try:
        parts = urlsplit(url)
        port = parts.port  # raises on a port that is not a number or out of range
    except ValueError:
        raise InvalidWebhookUrl("url is not a valid URL") from None
    schemes = ("https", "http") if allow_loopback else ("https",)
    if parts.scheme not in schemes:
        raise InvalidWebhookUrl("url must use https")
    if parts.username is not None or parts.password is not None:
        raise InvalidWebhookUrl("url must not carry credentials (user:password@)")
    if parts.fragment:
        raise InvalidWebhookUrl("url must not have a fragment")
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise InvalidWebhookUrl("url has no host")
    if port == 0:
        raise InvalidWebhookUrl("url has port 0")
    _check_host(host, allow_loopback)
    if parts.scheme == "http" and not _is_loopback_host(host):
        raise InvalidWebhookUrl("url must use https (http only for a loopback receiver, locally)")
    return url


def _check_host(host: str, allow_loopback: bool) -> None:
    address = _literal_address(host)
    if address is not None:
        check_address(address, allow_loopback=allow_loopback)
        return
    name = host.lower()
    if allow_loopback and name in _LOOPBACK_NAMES:
        return
    if name in _INTERNAL_NAMES or name.endswith(_INTERNAL_SUFFIXES) or "." not in name:
        raise InvalidWebhookUrl(f"url host {host!r} is an internal name; use a public DNS name")
    if not all(label and len(label) <= 63 for label in name.split(".")):
        raise InvalidWebhookUrl(f"url host {host!r} is not a valid DNS name")


def _literal_address(host: str) -> IpAddress | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def _is_loopback_host(host: str) -> bool:
    address = _literal_address(host)
    return host.lower() in _LOOPBACK_NAMES if address is None else address.is_loopback


def check_address(address: IpAddress, *, allow_loopback: bool = False) -> None:
    """Refuse an address the stack must never connect to (see the module docstring)."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped  # ::ffff:169.254.169.254 is the metadata endpoint too
    if allow_loopback and address.is_loopback:
        return
    if not address.is_global or address.is_multicast:
        raise InvalidWebhookUrl(
            f"url resolves to {address}, which is not a public address (private, loopback, "
            "link-local, metadata and reserved ranges are refused)"
        )


def host_and_port(url: str) -> tuple[SplitResult, str, int]:
    """The parsed URL, its host (without brackets) and its port (the scheme's default if none)."""
    parts = urlsplit(url)
    host = (parts.hostname or "").rstrip(".")
    return parts, host, parts.port or (443 if parts.scheme == "https" else 80)
