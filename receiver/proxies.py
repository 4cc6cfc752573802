"""Behind a TLS-terminating proxy: trust ``X-Forwarded-For`` / ``-Proto`` / ``-Host`` only
from the addresses in ``[server] forwarded_allow_ips`` (werkzeug's ProxyFix, applied per
request when the peer is one of them), so the sign-in limit and the logs see the client's
address and the session cookie's scheme is right, while nobody else can forge them."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from typing import Any

from werkzeug.middleware.proxy_fix import ProxyFix

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class TrustedProxies:
    """A WSGI middleware: ProxyFix for requests from trusted proxies, nothing for others."""

    def __init__(self, app: Any, networks: Iterable[Network]) -> None:
        self.app = app
        self.fixed = ProxyFix(app, x_for=1, x_proto=1, x_host=1)
        self.networks = tuple(networks)

    def _trusted(self, peer: str | None) -> bool:
        try:
            address = ipaddress.ip_address(peer or "")
        except ValueError:
            return False
        return any(address in n for n in self.networks)

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        if self._trusted(environ.get("REMOTE_ADDR")):
            return self.fixed(environ, start_response)
        return self.app(environ, start_response)
