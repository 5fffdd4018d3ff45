"""URLs the seller gives us and our functions then call (a channel's or the PIM's): only public HTTPS
hosts. Anything else would let a seller's settings make our functions reach inside AWS (the instance
metadata service, the VPC, the function itself): server-side request forgery.

The local stack runs every marketplace stand-in on 127.0.0.1 over plain HTTP; it alone sets
ALLOW_LOOPBACK_URLS, which admits http://127.0.0.1 and http://localhost and nothing more.
"""

from __future__ import annotations

import ipaddress
import os
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import AfterValidator, AnyHttpUrl

ALLOW_LOOPBACK = "ALLOW_LOOPBACK_URLS"
LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
INTERNAL_SUFFIXES = (".internal", ".local", ".localhost", ".localdomain")  # cloud metadata, mDNS, private DNS


def outbound_url_problem(url: str) -> str | None:
    """Why we would not call `url`, or None when it is a public HTTPS URL (or loopback on the local stack)."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower().rstrip(".")
    if host in LOOPBACK_NAMES and os.environ.get(ALLOW_LOOPBACK) == "1":
        return None
    if parts.scheme != "https":
        return "the URL must use https"
    return _host_problem(host)


def _host_problem(host: str) -> str | None:
    if not host:
        return "the URL has no host"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:  # a name: public as far as we can tell without resolving it, unless it says otherwise
        internal = host in LOOPBACK_NAMES or host.endswith(INTERNAL_SUFFIXES) or "." not in host
        return f"{host} is not a public host name" if internal else None
    return None if address.is_global else f"{host} is a private, loopback, link-local or reserved address"


def _checked(url: AnyHttpUrl) -> AnyHttpUrl:
    problem = outbound_url_problem(str(url))
    if problem:
        raise ValueError(problem)
    return url


OutboundUrl = Annotated[AnyHttpUrl, AfterValidator(_checked)]
