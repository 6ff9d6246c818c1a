"""IPv6 forms that embed an IPv4 address are judged by that address, and site-local IPv6 is
refused (SPEC 18): on write (the collection's notify_url) and at every delivery attempt."""

import pytest

from refresher.triggers.outbound import OutboundRefused, post, resolve
from tests.factories import CollectionFactory

pytestmark = pytest.mark.django_db

REFUSED = [
    "https://[64:ff9b::a9fe:a9fe]/hook",  # NAT64 of 169.254.169.254 (cloud metadata)
    "https://[64:ff9b::7f00:1]/hook",  # NAT64 of 127.0.0.1
    "https://[64:ff9b::a00:1]/hook",  # NAT64 of 10.0.0.1
    "https://[64:ff9b:1::808:808]/hook",  # the local-use NAT64 prefix, whatever it embeds
    "https://[::7f00:1]/hook",  # IPv4-compatible 127.0.0.1
    "https://[::a9fe:a9fe]/hook",
    "https://[::ffff:0:7f00:1]/hook",  # IPv4-translated 127.0.0.1
    "https://[::ffff:0:c0a8:101]/hook",  # IPv4-translated 192.168.1.1
    "https://[2002:7f00:1::1]/hook",  # 6to4 of 127.0.0.1
    "https://[2002:a9fe:a9fe::1]/hook",
    "https://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/hook",  # Teredo, client 192.0.2.45
    "https://[2001:0:a00:1::f5ff:fffe]/hook",  # Teredo, server 10.0.0.1
    "https://[fec0::1]/hook",  # site-local
    "https://[fec0:1:2:3::4]/hook",
]
ALLOWED = [
    "https://[64:ff9b::808:808]/hook",  # NAT64 of 8.8.8.8
    "https://[::808:808]/hook",
    "https://[::ffff:0:808:808]/hook",
    "https://[2002:808:808::1]/hook",  # 6to4 of 8.8.8.8
    "https://[2001:0:808:808::f7f7:f7f7]/hook",  # Teredo: server and client 8.8.8.8
    "https://[2606:4700:4700::1111]/hook",
]


@pytest.mark.parametrize("url", REFUSED)
def test_an_embedded_non_global_address_is_refused(url):
    with pytest.raises(OutboundRefused):
        resolve(url, allow_private=False)


@pytest.mark.parametrize("url", ALLOWED)
def test_an_embedded_global_address_is_allowed(url):
    assert resolve(url, allow_private=False).port == 443


@pytest.mark.parametrize("url", REFUSED[:3] + REFUSED[-2:])
def test_writing_one_as_notify_url_is_a_400(api, user, url):
    collection = CollectionFactory(owner=user)
    response = api.patch(
        f"/api/v1/collections/{collection.pk}/", {"notify_url": url}, format="json"
    )
    assert response.status_code == 400, response.content
    assert "notify_url" in response.json()["details"]
    collection.refresh_from_db()
    assert collection.notify_url == ""


@pytest.mark.parametrize("url", REFUSED[:3])
def test_a_stored_one_is_refused_again_at_delivery(url):
    # Stored before the rule existed: every delivery attempt checks the address again.
    with pytest.raises(OutboundRefused):
        post(url, body=b"{}", headers={}, timeout=1.0, allow_private=False)
