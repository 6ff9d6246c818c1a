"""Where notifications may go (SPEC 13): https only, never private, loopback or link-local
addresses after resolution, no redirects; NOTIFY_ALLOW_PRIVATE opens http and loopback."""

import pytest

from refresher.triggers.outbound import OutboundRefused, post, resolve


@pytest.mark.parametrize(
    "url",
    [
        "http://8.8.8.8/hook",  # not https
        "ftp://8.8.8.8/hook",
        "file:///etc/passwd",
        "gopher://8.8.8.8/",
        "https:///no-host",
        "https://user:pass@8.8.8.8/hook",  # credentials belong in the secret
        "https://127.0.0.1/hook",
        "https://127.1.2.3/hook",
        "https://localhost/hook",  # resolves to loopback
        "https://10.0.0.5/hook",
        "https://172.16.3.4/hook",
        "https://192.168.1.1/hook",
        "https://169.254.169.254/latest/meta-data/",  # cloud metadata, link-local
        "https://100.64.0.1/hook",  # carrier-grade NAT
        "https://0.0.0.0/hook",
        "https://[::1]/hook",
        "https://[fe80::1]/hook",
        "https://[fd00::1]/hook",
        "https://[::ffff:127.0.0.1]/hook",  # IPv4-mapped loopback
        "https://[::ffff:10.0.0.1]/hook",
        "https://224.0.0.1/hook",  # multicast
        "https://2130706433/hook",  # 127.0.0.1 written as an integer
        "https://0x7f.0.0.1/hook",
        "not a url",
        "https://8.8.8.8:99999/hook",
    ],
)
def test_refused_destinations(url):
    with pytest.raises(OutboundRefused):
        resolve(url, allow_private=False)


def test_a_public_address_is_allowed():
    dest = resolve("https://8.8.8.8/hook", allow_private=False)
    assert (dest.scheme, str(dest.address), dest.port) == ("https", "8.8.8.8", 443)


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:8080/hook", "https://10.0.0.5/hook", "http://localhost/x"]
)
def test_allow_private_opens_http_and_private_addresses(url):
    assert resolve(url, allow_private=True)


@pytest.mark.parametrize("url", ["ftp://127.0.0.1/x", "https://user:pw@127.0.0.1/x"])
def test_allow_private_still_refuses_other_schemes_and_credentials(url):
    with pytest.raises(OutboundRefused):
        resolve(url, allow_private=True)


def test_the_request_goes_to_the_checked_address_with_the_host_name_kept(httpserver):
    # `localhost` is resolved once, checked, and connected to by address; the Host header
    # still names the host the user wrote.
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    url = f"http://localhost:{httpserver.port}/hook?team=a"
    response = post(url, body=b"{}", headers={}, timeout=2.0, allow_private=True)
    assert response.status_code == 200
    [(request, _)] = httpserver.log
    assert request.headers["Host"] == f"localhost:{httpserver.port}"
    assert request.args["team"] == "a"
    assert request.remote_addr == "127.0.0.1"
