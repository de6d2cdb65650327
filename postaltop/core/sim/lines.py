"""Render simulated events as Postal v3 log lines, byte for byte as ``docker logs`` shows them.

Layout (Klogger 1.4.0 ``go`` formatter, facts §4.1): ``YYYY-MM-DD HH:MM:SS +0000 `` then the
severity left-justified to 7 characters, the message, and ``key=value`` tags (unquoted; explicit
tags of the call first, then the logger's groups outermost first). SMTP ``<=``/``=>`` messages
carry hard-coded ANSI colour codes; AUTH payloads are logged as ``[redacted]``.

Builders return the text after the timestamp; :class:`Timestamps` renders the prefix. Each
builder is one f-string because the demo renders tens of thousands of lines per second.
"""

from __future__ import annotations

from datetime import date

_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

DEBUG = "DEBUG  "
INFO = "INFO   "
WARN = "WARN   "
ERROR = "ERROR  "

SMTP_GROUP = "component=smtp-server"
WORKER_GROUP = "component=worker"

_IN = "\x1b[32m<= "
_OUT = "\x1b[34m=> "
_RESET = "\x1b[0m"


class Timestamps:
    """Formats UNIX times as Klogger's ``%Y-%m-%d %H:%M:%S %z`` in UTC, caching the date part."""

    __slots__ = ("_day", "_day_text", "_sec", "_sec_text")

    def __init__(self) -> None:
        self._day = -1
        self._day_text = ""
        self._sec = -1
        self._sec_text = ""

    def _date(self, day: int) -> str:
        if day != self._day:
            self._day = day
            self._day_text = date.fromordinal(_EPOCH_ORDINAL + day).isoformat()
        return self._day_text

    def prefix(self, ts: float) -> str:
        """The line prefix for ``ts``: ``2026-04-28 09:14:02 +0000 `` (second resolution)."""
        sec = int(ts // 1)
        if sec != self._sec:
            day, rem = divmod(sec, 86400)
            hour, rem = divmod(rem, 3600)
            minute, second = divmod(rem, 60)
            self._sec = sec
            self._sec_text = f"{self._date(day)} {hour:02d}:{minute:02d}:{second:02d} +0000 "
        return self._sec_text

    def rfc2822(self, ts: float) -> str:
        """A ``Date:`` header value, e.g. ``Tue, 28 Apr 2026 09:14:02 +0000``."""
        stamp = self.prefix(ts)
        day = date.fromisoformat(stamp[:10])
        month = _MONTHS[day.month - 1]
        return f"{_WEEKDAYS[day.weekday()]}, {day.day:02d} {month} {day.year} {stamp[11:19]} +0000"

    def utc(self, ts: float) -> str:
        """Ruby ``Time#to_s`` of a UTC time, as in ``retry_after=2026-04-28 09:27:14 UTC``."""
        return self.prefix(ts)[:19] + " UTC"


# --- SMTP server (component=smtp-server, per-connection trace_id) ---------------------------------


def smtp_debug(text: str, trace: str) -> str:
    """A plain DEBUG line of an SMTP connection (``Client identified as …``, ``Connection closed``)."""
    return f"{DEBUG}{text} trace_id={trace} {SMTP_GROUP}"


def smtp_in(command: str, trace: str) -> str:
    """What the client sent (``<=``), green."""
    return f"{DEBUG}{_IN}{command}{_RESET} trace_id={trace} {SMTP_GROUP}"


def smtp_out(reply: str, trace: str) -> str:
    """What the server answered (``=>``), blue."""
    return f"{DEBUG}{_OUT}{reply}{_RESET} trace_id={trace} {SMTP_GROUP}"


def smtp_auth_failure(ip: str, trace: str) -> str:
    """The WARN line fail2ban users match (facts §4.1, issue #3336)."""
    return f"{WARN}Authentication failure for {ip} trace_id={trace} {SMTP_GROUP}"


def smtp_bad_line_ending(trace: str) -> str:
    """WARN for a client that ends lines with a bare LF."""
    return f"{WARN}Detected line with invalid line ending (missing <CR>) trace_id={trace} {SMTP_GROUP}"


EHLO_REPLY = ("250-My capabilities are", "250 AUTH CRAM-MD5 PLAIN LOGIN")
"""Postal's EHLO answer with TLS disabled (the default), one logged line per reply line."""

# --- worker (component=worker thread=workN original_queued_message=… queued_message=…) ----------


def worker_tags(thread: str, original: int) -> str:
    """Group tags of one dequeue."""
    return f"{WORKER_GROUP} thread={thread} original_queued_message={original}"


def message_tags(group: str, queued: int) -> str:
    """Group tags while one queued message of the batch is processed."""
    return f"{group} queued_message={queued}"


def info(text: str, tags: str) -> str:
    """An INFO line with its tags."""
    return f"{INFO}{text} {tags}"


def debug(text: str, tags: str) -> str:
    """A DEBUG line with its tags."""
    return f"{DEBUG}{text} {tags}"


def error(text: str, tags: str) -> str:
    """An ERROR line with its tags."""
    return f"{ERROR}{text} {tags}"


def sender_info(text: str, log_id: str, tags: str) -> str:
    """An SMTP sender line: explicit ``log_id`` first, then the dequeue groups."""
    return f"{INFO}{text} log_id={log_id} {tags}"


def sender_error(exc: str, reply: str, log_id: str, tags: str) -> tuple[str, str]:
    """A Net::SMTP error: its message ends in a newline, so the record spans two physical lines.

    Klogger escapes newlines in tag values only (facts §4.1b): the second line starts with a
    space and holds the tags.

    Returns:
        ``(first line after the timestamp, continuation line)``.
    """
    return f"{ERROR}{exc}: {reply}", f" log_id={log_id} {tags}"


def task_tags(task: str) -> str:
    """Group tags of the scheduler thread while ``task`` runs."""
    return f"{WORKER_GROUP} thread=tasks task={task}"


# --- web (one line per request) ---------------------------------------------------------------


def web_request(
    method: str,
    path: str,
    status: int,
    controller: str,
    action: str,
    fmt: str,
    transaction: str,
    request_id: str,
    ip: str,
    view_ms: float,
    db_ms: float,
) -> str:
    """A Rails request line as Postal's Klogger subscriber writes it."""
    return (
        f"{INFO}{method} {path} ({status}) event=request transaction={transaction} controller={controller} "
        f"action={action} format={fmt} method={method} path={path} request_id={request_id} ip_address={ip} "
        f"status={status} view_runtime={view_ms:.1f} db_runtime={db_ms:.1f}"
    )


# (method, path template, controller, action, format, weight); {org}/{srv}/{id} are filled in.
WEB_ROUTES: tuple[tuple[str, str, str, str, str, float], ...] = (
    ("GET", "/org/{org}/servers/{srv}", "ServersController", "show", "html", 5),
    ("GET", "/org/{org}/servers/{srv}/messages/outgoing", "MessagesController", "outgoing", "html", 4),
    ("GET", "/org/{org}/servers/{srv}/messages/held", "MessagesController", "held", "html", 1.5),
    ("GET", "/org/{org}/servers/{srv}/messages/{id}", "MessagesController", "show", "html", 3),
    (
        "GET",
        "/org/{org}/servers/{srv}/messages/{id}/deliveries",
        "MessagesController",
        "deliveries",
        "html",
        1,
    ),
    ("GET", "/org/{org}/servers/{srv}/credentials", "CredentialsController", "index", "html", 0.7),
    ("GET", "/org/{org}/servers/{srv}/queue", "QueueController", "index", "html", 0.8),
    ("GET", "/org/{org}/servers/{srv}/limits", "ServersController", "limits", "html", 0.3),
    ("GET", "/org/{org}", "OrganizationsController", "show", "html", 1),
    ("GET", "/", "OrganizationsController", "index", "html", 1),
    ("GET", "/login", "SessionsController", "new", "html", 0.4),
)

API_SEND_ROUTE = ("POST", "/api/v1/send/message", "LegacyAPI::SendController", "message", "json")

# Scheduled tasks of Postal v3 (app/scheduled_tasks): (class, period in seconds, offset in the period).
SCHEDULED_TASKS: tuple[tuple[str, int, int], ...] = (
    ("SendNotificationsScheduledTask", 60, 0),
    ("ActionDeletionsScheduledTask", 60, 0),
    ("ExpireHeldMessagesScheduledTask", 3600, 15 * 60),
    ("TidyQueuedMessagesTask", 3600, 45 * 60),
    ("PruneWebhookRequestsScheduledTask", 3600, 5 * 60),
    ("CheckAllDNSScheduledTask", 3600, 30 * 60),
    ("CleanupAuthieSessionsScheduledTask", 86400, 2 * 3600 + 30 * 60),
    ("ProcessMessageRetentionScheduledTask", 86400, 3 * 3600),
    ("PruneSuppressionListsScheduledTask", 86400, 4 * 3600 + 15 * 60),
)

# stderr noise that ``docker logs`` interleaves with the records (facts §4.1b).
THREAD_CRASH: tuple[str, ...] = (
    "#<Thread:0x00007f3a9c1e2b48 /opt/postal/app/app/lib/worker/process.rb:118 run> "
    "terminated with exception (report_on_exception is true):",
    "/usr/local/bundle/gems/mysql2-0.5.6/lib/mysql2/client.rb:151:in `_query': "
    "Lost connection to MySQL server during query (Mysql2::Error::ConnectionError)",
    "\tfrom /usr/local/bundle/gems/mysql2-0.5.6/lib/mysql2/client.rb:151:in `block in query'",
    "\tfrom /usr/local/bundle/gems/mysql2-0.5.6/lib/mysql2/client.rb:150:in `handle_interrupt'",
    "\tfrom /opt/postal/app/app/lib/worker/process.rb:121:in `block (2 levels) in start_work_thread'",
)

FIRST_NAMES = (
    "jane", "john", "maria", "li", "ahmed", "olga", "pierre", "sofia", "kenji", "amara", "lucas", "emma",
    "noah", "mia", "raj", "chloe", "mateo", "ines", "tom", "hana", "omar", "eva", "leo", "nina",
)  # fmt: skip
LAST_NAMES = (
    "doe", "smith", "garcia", "chen", "khan", "ivanova", "martin", "rossi", "tanaka", "okafor", "silva",
    "muller", "brown", "nguyen", "patel", "dubois", "lopez", "costa", "wilson", "sato", "haddad", "novak",
)  # fmt: skip
FIRST_DATA_LINES = ("Date: {date}", "From: {sender}", "Message-ID: <{token}@{domain}>", "MIME-Version: 1.0")
"""The first DATA line is logged before Postal says ``Not logging further message data.``."""

SCANNER_HELOS = ("User", "ylmf-pc", "WIN-3N1B2C4D5E6", "localhost", "mail.example.com", "[198.51.100.200]")
HOSTILE_HELOS = (
    "[bold red]ADMIN[/bold red]",
    "\x1b]0;pwned\x07scan",
    "host\x1b[2Jx",
    "mx\x00relay",
    "caf\udce9",
)
"""Client-controlled EHLO names that reach the log verbatim: markup, escape sequences, NUL and a
lone Latin-1 byte (``\\udce9`` becomes the invalid UTF-8 byte 0xE9 via ``surrogateescape``)."""


def encode(text: str) -> bytes:
    """Encode a rendered line; lone surrogates become the raw (invalid UTF-8) bytes they stand for."""
    return text.encode("utf-8", "surrogateescape")
