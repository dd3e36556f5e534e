"""Where the engine may send requests (DESIGN §7): public addresses over http(s), and what the
operator allows explicitly (CIDRs, and host names allowed whatever they resolve to).

Checked on the address actually connected to: after DNS (the transport's resolver keeps only
allowed addresses) and for every request, redirects included, since each passes the transport.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from connectors.errors import StepError

SCHEMES = ("http", "https")
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class EgressRefused(StepError):
    """A request the egress policy does not allow: no retry can change that."""


def _kind(address: Address) -> str:
    """What makes an address non-public, for the error message."""
    for kind in ("loopback", "unspecified", "link_local", "multicast", "private", "reserved"):
        if getattr(address, f"is_{kind}"):
            return kind.replace("_", "-")
    return "non-public"


@dataclass(frozen=True)
class EgressPolicy:
    networks: tuple[Network, ...] = ()
    hosts: frozenset[str] = frozenset()
    setting: str = "the egress allow-list"  # what an operator changes to allow more, for messages

    @classmethod
    def parse(cls, allow: str, setting: str = "the egress allow-list") -> EgressPolicy:
        """'127.0.0.0/8, ::1, localhost' → a policy; ValueError naming an entry that is neither."""
        networks, hosts = [], set()
        for entry in (e.strip() for e in allow.split(",")):
            if not entry:
                continue
            try:
                networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                if "/" in entry or not entry.replace("-", "").replace(".", "").isalnum():
                    raise ValueError(f"'{entry}' is neither a CIDR nor a host name") from None
                hosts.add(entry.lower().rstrip("."))
        return cls(tuple(networks), frozenset(hosts), setting)

    def allows_host(self, host: str) -> bool:
        """A host name the operator listed: allowed whatever it resolves to."""
        return host.lower().rstrip(".") in self.hosts

    def refusal(self, address: str, host: str | None = None) -> str | None:
        """Why connecting to `address` (resolved from `host`) is not allowed; None if it is."""
        ip = ipaddress.ip_address(address.split("%", 1)[0])  # an IPv6 zone is not part of the address
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
            ip = ip.ipv4_mapped
        if (ip.is_global and not ip.is_multicast) or any(ip in network for network in self.networks):
            return None
        named = f"'{host}' resolves to {ip}" if host and host != address else f"{ip}"
        return (f"{named}, a non-public address ({_kind(ip)}): the egress policy refuses it "
                f"({self.setting} lists the networks and hosts that may be called)")

    def check_scheme(self, scheme: str, url: str) -> None:
        if scheme not in SCHEMES:
            raise EgressRefused(f"'{url}' is not an http(s) URL: the egress policy refuses it")
