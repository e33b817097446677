"""Which URLs a webhook may call: http(s) with a host, and, unless the instance allows
private addresses, only hosts that resolve to public ones."""

from __future__ import annotations

import pytest

from formflow.webhooks.address import check_url

PRIVATE = [
    ("http://127.0.0.1:8080/hook", "127.0.0.1"),
    ("http://localhost/hook", "127.0.0.1"),
    ("http://10.0.0.5/hook", "10.0.0.5"),
    ("http://192.168.1.20/hook", "192.168.1.20"),
    ("http://169.254.169.254/latest/meta-data", "169.254.169.254"),  # cloud metadata
    ("http://[::1]:9000/hook", "::1"),
    ("http://[::ffff:127.0.0.1]/hook", "::ffff:127.0.0.1"),
    ("http://[fe80::1]/hook", "fe80::1"),
    ("http://0.0.0.0/hook", "0.0.0.0"),
    ("http://100.64.0.1/hook", "100.64.0.1"),  # carrier NAT
    ("http://224.0.0.1/hook", "224.0.0.1"),  # multicast
]


@pytest.mark.parametrize(("url", "address"), PRIVATE)
def test_private_addresses_are_refused_unless_the_instance_allows_them(url, address):
    problem = check_url(url, allow_private=False)
    if url.startswith("http://localhost"):  # may resolve to ::1 first
        assert problem is not None and "private address" in problem
    else:
        assert problem == (
            f"webhook URL points at a private address ({address}); "
            "this instance does not allow that"
        )
    assert check_url(url, allow_private=True) is None


@pytest.mark.parametrize(
    "url", ["https://93.184.215.14/hooks/quotes", "http://8.8.8.8:8080/x?y=1", "HTTPS://1.1.1.1"]
)
def test_public_addresses_are_allowed(url):
    assert check_url(url, allow_private=False) is None


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("ftp://93.184.215.14/file", "must start with http:// or https://"),
        ("file:///etc/passwd", "must start with http:// or https://"),
        ("93.184.215.14/hook", "must start with http:// or https://"),
        ("http:///hook", "has no host"),
        ("https://", "has no host"),
        ("http://93.184.215.14:99999/hook", "not a valid URL"),
        ("http://no-such-host.invalid/hook", "no-such-host.invalid cannot be resolved"),
    ],
)
def test_urls_that_are_no_web_address_are_refused_either_way(url, words):
    for allow_private in (False, True):
        problem = check_url(url, allow_private=allow_private)
        assert problem is not None and words in problem
