"""Country of a recipient domain from its country-code top-level domain (ccTLD).

Offline and exact about what it knows: a domain under a ccTLD (``.de``, ``.co.uk``, ``.com.br``) is put in
that country; under a generic TLD (``.com``, ``.net``, ``.email``) or a ccTLD widely used as a generic one
(``.io``, ``.co``, ``.me``, ``.tv`` …) it is :data:`GENERIC` — its country is not knowable from the name.
An invalid name is :data:`UNKNOWN`. The MX host's address (GeoIP) would place generic domains too; that needs
a GeoIP database, which is optional and not read here.
"""

from __future__ import annotations

GENERIC = "generic"
"""A generic TLD: the domain says nothing about the recipient's country."""
UNKNOWN = "unknown"
"""Not a domain name."""

_ISO_3166 = (
    "ad ae af ag ai al am ao aq ar as at au aw ax az ba bb bd be bf bg bh bi bj bl bm bn bo bq br bs "
    "bt bv bw by bz ca cc cd cf cg ch ci ck cl cm cn co cr cu cv cw cx cy cz de dj dk dm do dz ec ee "
    "eg eh er es et fi fj fk fm fo fr ga gb gd ge gf gg gh gi gl gm gn gp gq gr gs gt gu gw gy hk hm "
    "hn hr ht hu id ie il im in io iq ir is it je jm jo jp ke kg kh ki km kn kp kr kw ky kz la lb lc "
    "li lk lr ls lt lu lv ly ma mc md me mf mg mh mk ml mm mn mo mp mq mr ms mt mu mv mw mx my mz na "
    "nc ne nf ng ni nl no np nr nu nz om pa pe pf pg ph pk pl pm pn pr ps pt pw py qa re ro rs ru rw "
    "sa sb sc sd se sg sh si sj sk sl sm sn so sr ss st sv sx sy sz tc td tf tg th tj tk tl tm tn to "
    "tr tt tv tw tz ua ug um us uy uz va vc ve vg vi vn vu wf ws ye yt za zm zw"
)
COUNTRY_CODES = frozenset(_ISO_3166.split())
"""ISO 3166-1 alpha-2 codes, lower case (each is also a ccTLD, except ``gb`` which uses ``.uk``)."""

EXTRA_CCTLDS: dict[str, str] = {"uk": "gb", "eu": "eu", "su": "ru", "ac": "sh"}
"""ccTLDs that are not their country's ISO code (``eu`` is a region, kept as itself)."""

GENERIC_USE_CCTLDS = frozenset(
    {"ai", "cc", "co", "fm", "gg", "io", "me", "nu", "tv", "ws", "to", "ly", "sh", "ac"}
)
"""ccTLDs sold and used worldwide as generic names: their domains are counted as :data:`GENERIC`."""


def country_of(domain: str) -> str:
    """``"de"`` for ``mail.example.de``, ``"gb"`` for ``example.co.uk``, :data:`GENERIC` for ``gmail.com``."""
    name = domain.strip().rstrip(".").lower()
    if not name or "." not in name or " " in name:
        return UNKNOWN
    tld = name.rsplit(".", 1)[1]
    if not tld.isascii() or not tld.isalpha():
        return GENERIC if tld.startswith("xn--") else UNKNOWN
    if tld in GENERIC_USE_CCTLDS:
        return GENERIC
    if tld in EXTRA_CCTLDS:
        return EXTRA_CCTLDS[tld]
    if len(tld) == 2 and tld in COUNTRY_CODES:
        return tld
    return GENERIC
