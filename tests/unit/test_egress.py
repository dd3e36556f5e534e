"""The egress policy's rules (the transport applies them: tests/e2e/test_egress.py)."""

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


def test_allowed_networks_and_host_names():
    policy = EgressPolicy.parse(" 10.0.0.0/8 , ::1, Internal.Example. ")
    assert policy.refusal("10.20.30.40") is None and policy.refusal("::1") is None
    assert policy.refusal("127.0.0.1") is not None
    assert policy.allows_host("internal.example") and not policy.allows_host("example")
    with pytest.raises(ValueError, match="'10.0.0.0/99'"):
        EgressPolicy.parse("10.0.0.0/99")
    with pytest.raises(EgressRefused, match="not an http"):
        policy.check_scheme("file", "file:///etc/passwd")
