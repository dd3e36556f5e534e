"""Where the engine may send requests (DESIGN §7): public addresses over http(s), and what the
operator allows explicitly (CIDRs, and host names allowed whatever they resolve to).

Checked on the address actually connected to: after DNS (the transport's resolver keeps only
allowed addresses) and for every request, redirects included, since each passes the transport.

IPv6 passes only where it is globally routable unicast (2000::/3, less the blocks IANA reserves
in it). An IPv6 address that embeds an IPv4 address is judged by that address: an IPv4-mapped
one (the kernel connects over IPv4) and a NAT64 one of the well-known prefix (a gateway
translates it) reach the IPv4 address itself, so they pass when it would (DNS64 networks keep
working); the other forms — IPv4-compatible, local-use NAT64, 6to4, Teredo — are deprecated or
local transition forms and are always refused. Either kind passes when the operator lists the
IPv6 address's network or the IPv4 address's.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address, ip_network

from connectors.errors import StepError

SCHEMES = ("http", "https")
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = IPv4Address | IPv6Address

GLOBAL_UNICAST = ip_network("2000::/3")
# Inside 2000::/3 but not globally routable (IANA's IPv6 special-purpose registry).
NOT_GLOBAL = (ip_network("2001::/23"),  # IETF protocol assignments (Teredo, benchmarking, ORCHID, …)
              ip_network("2001:db8::/32"), ip_network("3fff::/20"))  # documentation


class EgressRefused(StepError):
    """A request the egress policy does not allow: no retry can change that."""


def _last_32_bits(ip: IPv6Address) -> IPv4Address:
    return IPv4Address(int(ip) & 0xFFFF_FFFF)


@dataclass(frozen=True)
class Embedding:
    """An IPv6 form that carries an IPv4 address: what it is called, and where the address is."""

    name: str  # with its article, for messages: "a 6to4 address"
    network: ipaddress.IPv6Network
    ipv4: Callable[[IPv6Address], IPv4Address]
    reaches_ipv4: bool  # a connection reaches the IPv4 address itself, so that address decides


EMBEDDINGS = (
    Embedding("an IPv4-mapped address", ip_network("::ffff:0:0/96"), _last_32_bits, True),
    Embedding("a NAT64 address", ip_network("64:ff9b::/96"), _last_32_bits, True),  # RFC 6052
    # RFC 8215: prefixes of any length inside it; the address is where a /96 prefix puts it.
    Embedding("a local-use NAT64 address", ip_network("64:ff9b:1::/48"), _last_32_bits, False),
    Embedding("a 6to4 address", ip_network("2002::/16"), lambda ip: ip.sixtofour, False),
    Embedding("a Teredo address", ip_network("2001::/32"), lambda ip: ip.teredo[1], False),  # the client's
    Embedding("an IPv4-compatible address", ip_network("::/96"), _last_32_bits, False),  # not :: nor ::1
)


def embedding(ip: IPv6Address) -> tuple[Embedding, IPv4Address] | None:
    """The transition form `ip` is of and the IPv4 address it embeds; None for any other."""
    if ip.is_loopback or ip.is_unspecified:  # ::1 and :: are not IPv4-compatible addresses
        return None
    form = next((e for e in EMBEDDINGS if ip in e.network), None)
    return (form, form.ipv4(ip)) if form else None


def _public(ip: Address) -> bool:
    if isinstance(ip, IPv4Address):
        return ip.is_global and not ip.is_multicast
    return ip in GLOBAL_UNICAST and not any(ip in network for network in NOT_GLOBAL)


def _kind(address: Address) -> str:
    """What makes an address non-public, for the error message."""
    for kind in ("loopback", "unspecified", "link_local", "site_local", "multicast", "private", "reserved"):
        if getattr(address, f"is_{kind}", False):
            return kind.replace("_", "-")
    return "not globally routable"


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

    def _listed(self, ip: Address) -> bool:
        return any(ip in network for network in self.networks)

    def refusal(self, address: str, host: str | None = None) -> str | None:
        """Why connecting to `address` (resolved from `host`) is not allowed; None if it is."""
        address = address.split("%", 1)[0]  # an IPv6 zone is not part of the address
        ip = ipaddress.ip_address(address)
        embedded = embedding(ip) if isinstance(ip, IPv6Address) else None
        if embedded is None:
            if _public(ip) or self._listed(ip):
                return None
            what = f"a non-public address ({_kind(ip)})"
        else:
            form, ipv4 = embedded
            if self._listed(ip) or self._listed(ipv4) or (form.reaches_ipv4 and _public(ipv4)):
                return None
            what = f"{form.name} embedding {ipv4}, " + (f"a non-public address ({_kind(ipv4)})" if not _public(ipv4)
                                                         else "a transition form the engine does not connect through")
        named = f"'{host}' resolves to {address}" if host and host != address else address
        return (f"{named}, {what}: the egress policy refuses it "
                f"({self.setting} lists the networks and hosts that may be called)")

    def check_scheme(self, scheme: str, url: str) -> None:
        if scheme not in SCHEMES:
            raise EgressRefused(f"'{url}' is not an http(s) URL: the egress policy refuses it")
