"""The egress policy's rules (the transport applies them: tests/unit/test_transport_egress.py)."""

from __future__ import annotations

import pytest

from connectors.egress import EgressPolicy, EgressRefused


def test_public_addresses_pass_and_every_non_public_kind_is_named():
    policy = EgressPolicy()
    assert policy.refusal("93.184.216.34") is None and policy.refusal("2606:2800:220:1::1") is None
    for address, kind in [("127.0.0.1", "loopback"), ("::1", "loopback"), ("10.0.0.1", "private"),
                          ("192.168.1.1", "private"), ("169.254.169.254", "link-local"), ("fe80::1%eth0", "link-local"),
                          ("224.0.0.1", "multicast"), ("0.0.0.0", "unspecified"), ("::ffff:127.0.0.1", "loopback")]:
        assert f"({kind})" in policy.refusal(address), address


@pytest.mark.parametrize("address, named", [
    # Not globally routable: nothing embedded.
    ("fec0::1", "fec0::1, a non-public address (site-local)"),
    ("fc00::1", "fc00::1, a non-public address (private)"),
    ("ff02::1", "ff02::1, a non-public address (multicast)"),
    ("::", "::, a non-public address (unspecified)"),
    ("100::1", "100::1, a non-public address"),  # discard-only
    ("2001:db8::1", "2001:db8::1, a non-public address"),  # documentation
    ("3fff::1", "3fff::1, a non-public address (not globally routable)"),  # documentation (RFC 9637)
    ("2001:2::1", "2001:2::1, a non-public address"),  # benchmarking
    ("5f00::1", "5f00::1, a non-public address (reserved)"),  # outside 2000::/3
    # Each transition form, naming the IPv4 address it embeds.
    ("::ffff:127.0.0.1", ("::ffff:127.0.0.1, an IPv4-mapped address embedding 127.0.0.1, "
                         "a non-public address (loopback)")),
    ("::127.0.0.1", "::127.0.0.1, an IPv4-compatible address embedding 127.0.0.1, a non-public address (loopback)"),
    ("::8.8.8.8", "::8.8.8.8, an IPv4-compatible address embedding 8.8.8.8, a transition form"),
    ("64:ff9b::a9fe:a9fe", ("64:ff9b::a9fe:a9fe, a NAT64 address embedding 169.254.169.254, "
                           "a non-public address (link-local)")),
    ("64:ff9b::10.0.0.1", "a NAT64 address embedding 10.0.0.1, a non-public address (private)"),
    ("64:ff9b:1::a9fe:a9fe", "a local-use NAT64 address embedding 169.254.169.254, a non-public address (link-local)"),
    ("64:ff9b:1::808:808", "a local-use NAT64 address embedding 8.8.8.8, a transition form"),
    ("2002:7f00:1::1", "2002:7f00:1::1, a 6to4 address embedding 127.0.0.1, a non-public address (loopback)"),
    ("2002:a9fe:a9fe::1", "a 6to4 address embedding 169.254.169.254, a non-public address (link-local)"),
    ("2002:808:808::1", "a 6to4 address embedding 8.8.8.8, a transition form"),
    # Teredo: the client's address is the last 32 bits inverted (7f00:1 inverted is 80ff:fffe).
    ("2001:0:4136:e378:8000:63bf:80ff:fffe", "a Teredo address embedding 127.0.0.1, a non-public address (loopback)"),
    ("2001:0:4136:e378:8000:63bf:f7f7:f7f7", "a Teredo address embedding 8.8.8.8, a transition form"),
])
def test_ipv6_that_is_not_globally_routable_or_embeds_ipv4_is_refused(address, named):
    refusal = EgressPolicy(setting="CYCLEWRIGHT_EGRESS_ALLOW").refusal(address)
    assert refusal is not None and named in refusal, refusal
    assert refusal.endswith("the egress policy refuses it (CYCLEWRIGHT_EGRESS_ALLOW lists the networks and hosts "
                            "that may be called)")


def test_mapped_and_nat64_addresses_of_public_ipv4_pass_as_that_address():
    """They reach the IPv4 address itself (over IPv4, or through a NAT64 gateway): in a DNS64
    network every IPv4-only API resolves to 64:ff9b::/96, and must still be reachable."""
    policy = EgressPolicy()
    assert policy.refusal("::ffff:8.8.8.8") is None and policy.refusal("64:ff9b::8.8.8.8") is None


def test_allowed_networks_and_host_names():
    policy = EgressPolicy.parse(" 10.0.0.0/8 , ::1, Internal.Example. ")
    assert policy.refusal("10.20.30.40") is None and policy.refusal("::1") is None
    assert policy.refusal("127.0.0.1") is not None
    assert policy.allows_host("internal.example") and not policy.allows_host("example")
    with pytest.raises(ValueError, match="'10.0.0.0/99'"):
        EgressPolicy.parse("10.0.0.0/99")
    with pytest.raises(EgressRefused, match="not an http"):
        policy.check_scheme("file", "file:///etc/passwd")


def test_the_allow_list_admits_a_listed_ipv6_range_or_the_ipv4_address_embedded():
    assert EgressPolicy.parse("2002::/16").refusal("2002:7f00:1::1") is None
    assert EgressPolicy.parse("fec0::/10").refusal("fec0::1") is None
    assert EgressPolicy.parse("64:ff9b::/96").refusal("64:ff9b::a9fe:a9fe") is None
    loopback = EgressPolicy.parse("127.0.0.0/8")
    assert loopback.refusal("::ffff:127.0.0.1") is None and loopback.refusal("::127.0.0.1") is None
    assert loopback.refusal("2002:a9fe:a9fe::1") is not None  # another IPv4 address than the listed
