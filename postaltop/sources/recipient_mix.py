"""The recipient country mix of a review, read from the message databases (``postaltop report``/``review``).

Per server, the outgoing messages of the window and of the baseline (the days before it) grouped by
credential and recipient domain — the same rows the country-mix detector's polls count — through Postal's
``on_scope_and_spam`` index, as the state-at-connect queries read a time range.
"""

from __future__ import annotations

from postaltop.core.review.countries import RecipientMix, mix_from_tallies
from postaltop.sources.db_queries import OUTGOING_RANGE
from postaltop.sources.postal_db import PostalDbSource

BASELINE_DAYS = 7
"""The baseline: this many days before the window."""
MAX_PAIRS = 5000
"""(credential, domain) pairs read per server and period, busiest first."""

RECIPIENT_DOMAINS = """
SELECT credential_id, LOWER(SUBSTRING_INDEX(rcpt_to, '@', -1)), COUNT(*)
FROM {db}.`messages`
WHERE {range}
GROUP BY 1, 2
ORDER BY 3 DESC
LIMIT %s
""".replace("{range}", OUTGOING_RANGE)
"""Outgoing messages per (credential or NULL, recipient domain) in a range. Parameters: start, end, limit."""

Tally = dict[tuple[int, int | None, str], int]


async def read_recipient_mix(source: PostalDbSource, start: float, end: float) -> RecipientMix:
    """The window ``[start, end)`` and the :data:`BASELINE_DAYS` before it, for every live server."""
    servers = await source.discover()
    baseline_start = start - BASELINE_DAYS * 86400
    window: Tally = {}
    baseline: Tally = {}
    credentials: dict[int, str] = {}
    for server in servers:
        if not server.message_db_exists:
            continue  # no message database: no rows to read
        for tally, (a, b) in ((window, (start, end)), (baseline, (baseline_start, start))):
            for cred, domain, count in await source.read_server(
                RECIPIENT_DOMAINS, server.id, (a, b, MAX_PAIRS)
            ):
                if not domain:
                    continue
                cred_id = None if cred is None or int(cred) <= 0 else int(cred)
                if cred_id is not None:
                    credentials[cred_id] = source.credential_name(cred_id) or f"#{cred_id}"
                key = (server.id, cred_id, str(domain))
                tally[key] = tally.get(key, 0) + int(count)
    names = {s.id: s.full_permalink for s in servers}
    return mix_from_tallies(
        window, baseline, names, credentials, f"the {BASELINE_DAYS} days before the window"
    )
