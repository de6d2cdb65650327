"""Configuration: defaults, file + environment, every bad input as a ConfigError naming key, file and line."""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, SecretStr, ValidationError

from postaltop import locations
from postaltop.config import (
    ActionsConfig,
    ConfigError,
    DatabaseConfig,
    HostConfig,
    Settings,
    UiConfig,
    effective_config_text,
    find_line,
    load_settings,
    resolve_db_password,
)
from tests.support.docstrings import field_docstrings

DOCS = Path(__file__).resolve().parent.parent / "docs" / "configuration.md"
SECRET = "s3cr3t-Pa55word"
FUZZ_ALPHABET = "[]=.\"'\n #hostsuiname_0123456789\x00\x1b\\é{}"
"""Characters that build TOML structure, section and key names, and hostile bytes."""


def write(tmp_path: Path, text: str | bytes, mode: int = 0o600, name: str = "config.toml") -> Path:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    path.chmod(mode)
    return path


def error_of(path: Path | None, environ: dict[str, str] | None = None) -> str:
    with pytest.raises(ConfigError) as info:
        load_settings(path, environ=environ if environ is not None else {})
    return info.value.message


# --- defaults --------------------------------------------------------------------------------------


def test_missing_default_file_gives_defaults_and_no_source() -> None:
    loaded = load_settings(None)
    assert loaded.settings_source is None
    assert loaded.searched_path == locations.default_config_path()
    assert loaded.warnings == []
    assert loaded.settings == Settings()
    assert not loaded.settings.is_configured


def test_default_values() -> None:
    ui, db, actions = UiConfig(), DatabaseConfig(), ActionsConfig()
    assert (ui.theme, ui.retained_lines, ui.refresh_hz, ui.follow, ui.keymap) == (
        "dark",
        1_000_000,
        10,
        True,
        {},
    )
    assert (db.host, db.port, db.user, db.password, db.password_env) == (
        "127.0.0.1",
        3306,
        "postal",
        None,
        None,
    )
    assert (db.use_my_cnf, db.database, db.message_db_prefix) == (True, "postal", "postal")
    assert (db.poll_interval, db.query_timeout, db.tls, db.tls_ca, db.tls_verify) == (
        5.0,
        4.0,
        False,
        None,
        True,
    )
    assert (db.ssh_tunnel, db.top_domains) == (None, 10)
    host = HostConfig(name="mx1", address="10.0.0.1")
    assert (host.port, host.user, host.key_file, host.jump_host) == (22, None, None, None)
    assert (host.log_source, host.protected, host.metrics, host.since) == ("auto", False, True, "10m")
    assert (actions.enabled, actions.operator) == (False, None)
    assert Settings().database is None and Settings().hosts == []


def test_default_config_path_follows_xdg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    assert locations.default_config_path() == tmp_path / "postaltop" / "config.toml"


def test_default_file_is_read_when_present() -> None:
    path = locations.default_config_path()
    path.parent.mkdir(parents=True)
    path.write_text('[ui]\ntheme = "light"\n')
    loaded = load_settings(None)
    assert loaded.settings_source == path
    assert loaded.settings.ui.theme == "light"


# --- file and environment --------------------------------------------------------------------------


def test_environment_overrides_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, '[ui]\ntheme = "light"\nfollow = false\n[database]\nhost = "db1"\nport = 3307\n')
    monkeypatch.setenv("POSTALTOP_UI__THEME", "colorblind")
    monkeypatch.setenv("POSTALTOP_DATABASE__HOST", "db2")
    loaded = load_settings(path)
    assert loaded.settings.ui.theme == "colorblind"
    assert loaded.settings.ui.follow is False  # from the file, untouched by the environment
    assert loaded.settings.database is not None
    assert (loaded.settings.database.host, loaded.settings.database.port) == ("db2", 3307)
    assert loaded.settings_source == path


def test_environment_alone_configures_a_database(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POSTALTOP_DATABASE__HOST", "10.1.2.3")
    monkeypatch.setenv("POSTALTOP_UI__KEYMAP__QUIT", "ctrl+q")
    loaded = load_settings(None)
    assert loaded.settings_source is None
    assert loaded.settings.database is not None and loaded.settings.database.host == "10.1.2.3"
    assert loaded.settings.ui.keymap == {"quit": "ctrl+q"}
    assert loaded.settings.is_configured


def test_unrelated_postaltop_variables_are_ignored() -> None:
    loaded = load_settings(None, environ={"POSTALTOP_DEBUG": "1", "POSTALTOP_DB_PASSWORD": "x"})
    assert loaded.settings == Settings()


def test_full_example_file_loads(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
[ui]
theme = "colorblind"
retained_lines = 2_000_000
refresh_hz = 5
keymap = { quit = "ctrl+q", "toggle-follow" = "f" }

[database]
host = "10.0.0.5"
user = "postaltop_ro"
password_env = "POSTAL_DB_PW"
ssh_tunnel = "mx1"
tls = true
tls_ca = "/etc/ssl/ca.pem"

[[hosts]]
name = "mx1"
address = "mx1.example.com"
user = "ops"
log_source = "files:/var/log/postal/*.log"
protected = true

[[hosts]]
name = "mx2"
address = "192.0.2.7"
port = 2222
jump_host = "mx1"
since = "2h"

[actions]
enabled = true
operator = "alice"
""",
    )
    loaded = load_settings(path, environ={"POSTAL_DB_PW": "pw"})
    s = loaded.settings
    assert s.ui.keymap == {"quit": "ctrl+q", "toggle-follow": "f"}
    assert [h.name for h in s.hosts] == ["mx1", "mx2"]
    assert s.hosts[1].port == 2222 and s.hosts[0].protected
    assert s.database is not None and s.database.tls_ca == Path("/etc/ssl/ca.pem")
    assert s.actions.enabled and s.actions.operator == "alice"
    assert loaded.warnings == []


def test_unset_password_env_is_a_warning(tmp_path: Path) -> None:
    path = write(tmp_path, '[database]\npassword_env = "NOT_THERE"\n')
    loaded = load_settings(path, environ={})
    assert loaded.warnings == ["database.password_env names NOT_THERE, which is not set"]


# --- bad input: every message names the file, the line and the key ---------------------------------

BAD_FILES = [
    ('[ui]\ntheme = "dark"\n[database\nport = 1\n', ["line 3, column", "invalid TOML"]),
    ("[ui]\ntheme = \n", ["line 2", "invalid TOML"]),
    ('[ui]\ntheme = "dark"\ntheme = "light"\n', ["line 3", "invalid TOML"]),
    ('[database]\nhost = "db"\nport = "abc"\n', ["line 3", "database.port", "valid integer", "'abc'"]),
    ("[database]\nport = 70000\n", ["line 2", "database.port", "less than or equal to 65535"]),
    ("[ui]\nfollow = true\nretained_lines = 10\n", ["line 3", "ui.retained_lines", "greater than or equal"]),
    ("[ui]\nrefresh_hz = 100\n", ["line 2", "ui.refresh_hz"]),
    ('[ui]\ntheme = "blue"\n', ["line 2", "ui.theme", "'dark', 'light' or 'colorblind'", "'blue'"]),
    ("[database]\npoll_interval = 0.5\n", ["line 2", "database.poll_interval"]),
    ('[actions]\nenabled = "maybe"\n', ["line 2", "actions.enabled"]),
    ('[database]\nmessage_db_prefix = "postal`; DROP"\n', ["line 2", "database.message_db_prefix"]),
    ('[database]\ndatabase = "a b"\n', ["line 2", "database.database"]),
    ('hosts = "mx1"\n', ["line 1", "hosts", "valid list"]),
    ('[[hosts]]\nname = "mx1"\n', ["line 1", "hosts[0].address", "Field required"]),
    ('[[hosts]]\nname = "bad name"\naddress = "a"\n', ["line 2", "hosts[0].name", "no spaces"]),
    ('[[hosts]]\nname = "a"\naddress = "a b"\n', ["line 3", "hosts[0].address", "without spaces"]),
    (
        '[[hosts]]\nname = "a"\naddress = "h"\nlog_source = "syslog"\n',
        ["line 4", "hosts[0].log_source", "files:"],
    ),
    ('[[hosts]]\nname = "a"\naddress = "h"\nsince = "yesterday"\n', ["line 4", "hosts[0].since"]),
    (
        '[[hosts]]\nname = "a"\naddress = "h"\n\n[[hosts]]\nname = "b"\naddress = "h"\nport = 0\n',
        ["line 8", "hosts[1].port"],
    ),
    (
        '[[hosts]]\nname = "mx1"\naddress = "h"\n[[hosts]]\nname = "mx1"\naddress = "i"\n',
        ["line 5", "hosts[1].name", "duplicate host name 'mx1'"],
    ),
    (
        '[database]\nssh_tunnel = "bastion"\n[[hosts]]\nname = "mx1"\naddress = "h"\n',
        ["line 2", "database.ssh_tunnel", "'bastion'", "mx1"],
    ),
    ("database.port = 0\n", ["line 1", "database.port"]),
]


@pytest.mark.parametrize(("text", "expected"), BAD_FILES)
def test_bad_file_names_file_line_and_key(tmp_path: Path, text: str, expected: list[str]) -> None:
    path = write(tmp_path, text)
    message = error_of(path)
    assert str(path) in message
    for fragment in expected:
        assert fragment in message, f"{fragment!r} not in {message!r}"


def test_unknown_key_lists_valid_keys_and_suggests(tmp_path: Path) -> None:
    path = write(tmp_path, '[database]\nhost = "db"\nprot = 3306\n')
    message = error_of(path)
    assert f"{path}, line 3" in message
    assert "unknown key 'prot' in [database]" in message
    assert "did you mean 'port'?" in message
    valid = re.search(r"valid keys: (.*)", message)
    assert valid is not None
    assert valid.group(1).split(", ") == list(DatabaseConfig.model_fields)


def test_unknown_section_and_unknown_host_key(tmp_path: Path) -> None:
    message = error_of(write(tmp_path, '[ui]\ntheme = "dark"\n\n[databse]\nhost = "x"\n'))
    assert (
        "line 4" in message and "unknown key 'databse'" in message and "did you mean 'database'?" in message
    )
    message = error_of(write(tmp_path, '[[hosts]]\nname = "a"\naddress = "h"\nkeyfile = "/k"\n'))
    assert "line 4" in message and "[[hosts]] entry 1" in message and "did you mean 'key_file'?" in message


def test_environment_errors_name_the_variable() -> None:
    message = error_of(None, {"POSTALTOP_DATABASE__PORT": "abc"})
    assert "environment variable POSTALTOP_DATABASE__PORT" in message and "database.port" in message
    message = error_of(None, {"POSTALTOP_UI__THEMES": "dark"})
    assert "POSTALTOP_UI__THEMES" in message and "did you mean 'theme'?" in message
    message = error_of(None, {"POSTALTOP_HOSTS": "[not json"})
    assert "POSTALTOP_HOSTS" in message


def test_missing_explicit_file(tmp_path: Path) -> None:
    message = error_of(tmp_path / "nope.toml")
    assert "not found" in message and str(tmp_path / "nope.toml") in message


def test_directory_instead_of_file(tmp_path: Path) -> None:
    assert "is a directory" in error_of(tmp_path)


def test_invalid_utf8_names_line_and_column(tmp_path: Path) -> None:
    path = write(tmp_path, b'[database]\nhost = "db\xff"\n')
    message = error_of(path)
    assert f"{path}, line 2, column 11" in message and "UTF-8" in message


def test_oversized_file_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "# " + "x" * 1_100_000 + "\n")
    assert "too large" in error_of(path)


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file: permission denied cannot be provoked")
def test_unreadable_file(tmp_path: Path) -> None:
    path = write(tmp_path, "[ui]\n", mode=0o000)
    assert "permission denied" in error_of(path)


def test_problems_are_listed_together(tmp_path: Path) -> None:
    path = write(tmp_path, '[ui]\ntheme = "x"\nrefresh_hz = 0\n[database]\nport = -1\n')
    lines = error_of(path).splitlines()
    assert [re.search(r"line (\d+)", line).group(1) for line in lines] == ["2", "3", "5"]  # type: ignore[union-attr]


def test_direct_construction_still_checks_cross_fields() -> None:
    with pytest.raises(ValidationError, match="duplicate host name"):
        Settings(hosts=[HostConfig(name="a", address="h"), HostConfig(name="a", address="i")])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    text=st.text(alphabet=st.sampled_from(list("[]=.\"'\n #hostsuiname_0123456789\x00\x1bé{}")), max_size=80)
)
def test_any_text_is_settings_or_config_error(tmp_path: Path, text: str) -> None:
    path = write(tmp_path, text)
    try:
        load_settings(path, environ={})
    except ConfigError as exc:
        assert exc.message
        assert "\x1b" not in exc.message


# --- the password ----------------------------------------------------------------------------------


def test_password_file_must_be_private(tmp_path: Path) -> None:
    text = f'[database]\npassword = "{SECRET}"\n'
    path = write(tmp_path, text, mode=0o644)
    message = error_of(path)
    assert f"chmod 600 {path}" in message
    assert SECRET not in message
    for private in (0o600, 0o400):
        path.chmod(private)
        loaded = load_settings(path, environ={})
        assert loaded.settings.database is not None and loaded.settings.database.password is not None
        assert loaded.settings.database.password.get_secret_value() == SECRET


def test_chmod_hint_quotes_odd_paths(tmp_path: Path) -> None:
    path = write(tmp_path, f'[database]\npassword = "{SECRET}"\n', mode=0o640, name="my config.toml")
    assert f"chmod 600 '{path}'" in error_of(path)


def test_file_without_password_may_be_world_readable(tmp_path: Path) -> None:
    path = write(tmp_path, '[database]\nhost = "db"\n', mode=0o644)
    assert load_settings(path, environ={}).settings_source == path


def test_wrong_typed_password_is_not_echoed(tmp_path: Path) -> None:
    path = write(tmp_path, "[database]\npassword = 987654321\n")
    message = error_of(path)
    assert "database.password" in message and "line 2" in message and "987654321" not in message


def test_password_resolution_order(tmp_path: Path) -> None:
    cnf = tmp_path / "my.cnf"
    cnf.write_text('[mysql]\npassword = other\n[client]\nuser = postal\npassword = "from cnf"\n')
    db = DatabaseConfig(password=SecretStr("from file"), password_env="MY_PW")
    env = {"MY_PW": "from named env", "POSTALTOP_DB_PASSWORD": "from default env"}

    def value(d: DatabaseConfig, e: dict[str, str], c: Path) -> str | None:
        secret = d.resolve_password(e, c)
        return secret.get_secret_value() if secret is not None else None

    assert value(db, env, cnf) == "from named env"
    assert resolve_db_password(db, env, cnf).source == "environment variable MY_PW"
    plain = DatabaseConfig(password=SecretStr("from file"))
    assert value(plain, env, cnf) == "from default env"
    assert value(db, {"POSTALTOP_DB_PASSWORD": "ignored: password_env is set"}, cnf) == "from cnf"
    assert resolve_db_password(db, {}, cnf).source == f"{cnf} [client]"
    assert value(db.model_copy(update={"use_my_cnf": False}), {}, cnf) == "from file"
    assert value(db, {}, tmp_path / "absent.cnf") == "from file"
    assert value(DatabaseConfig(), {}, tmp_path / "absent.cnf") is None


def test_my_cnf_in_home_is_the_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / ".my.cnf").write_text("[client]\npassword=homepw\n")
    secret = DatabaseConfig().resolve_password({})
    assert secret is not None and secret.get_secret_value() == "homepw"


# --- the effective configuration -------------------------------------------------------------------


def test_effective_config_masks_secrets_and_round_trips(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        f'[database]\npassword = "{SECRET}"\n[ui.keymap]\nquit = "q\\u001b[2J"\n'
        '[[hosts]]\nname = "mx1"\naddress = "h"\n',
    )
    settings_ = load_settings(path, environ={}).settings
    text = effective_config_text(settings_)
    assert SECRET not in text and SECRET not in repr(settings_)
    assert 'password = "********"' in text
    assert "\x1b" not in text
    parsed = tomllib.loads(text)
    assert parsed["ui"]["keymap"]["quit"] == "q\x1b[2J"
    assert parsed["hosts"][0]["name"] == "mx1"
    assert parsed["database"]["password"] == "********"
    assert "tls_ca" not in parsed["database"]  # unset values are comments, TOML has no null


FULL_CONFIG = f"""
[ui]
theme = "light"
retained_lines = 5000
refresh_hz = 4.5
follow = false
[ui.keymap]
"app.quit" = "ctrl+q"
"main.filter" = "slash,f"

[database]
host = "db.example"
port = 3307
user = "ro"
password = "{SECRET}"
password_env = "MY_DB_PW"
use_my_cnf = false
tls = true
tls_ca = "/etc/ssl/ca.pem"
ssh_tunnel = "mx1"
top_domains = 25

[[hosts]]
name = "mx1"
address = "10.0.0.1"
user = "postal"
log_source = "files:/var/log/postal/*.log"
protected = true
since = "1h"

[[hosts]]
name = "mx2"
address = "10.0.0.2"
port = 2222
jump_host = "mx1"
metrics = false

[actions]
enabled = true
operator = "alice"
protected_servers = ["acme/mail", "7"]
ip_pools = true
max_rows = 500

[detection]
enabled = false
z_warning = 4.0
z_critical = 8.5
min_volume = 50
[detection.static.queue_depth]
warning = 100.0
critical = 900.0
[detection.static.bounced]
critical = 40.0

[review]
checklist_file = "/srv/checklist.toml"
skip = ["versions", "limits"]
top = 5
sample_lines = 0
[[review.steps]]
id = "relay"
title = "Open relay attempts"
filter = "relay"
question = "Any relaying?"
[[review.steps]]
id = "auth"
title = "AUTH failures (ours)"
kind = "auth"

[notify]
min_severity = "critical"
retry_attempts = 3
dead_letter_file = "/var/lib/postaltop/dead.jsonl"
[notify.alertmanager]
url = "http://am.example:9093"
[notify.slack]
webhook_url_env = "SLACK_HOOK"
[notify.pagerduty]
routing_key_file = "/etc/postaltop/pd.key"
[notify.email]
host = "smtp.example"
sender = "postaltop@example.com"
recipients = ["ops@example.com", "oncall@example.com"]
password_env = "SMTP_PW"

[ssh]
known_hosts = ["~/.ssh/known_hosts", "/etc/postaltop/known_hosts"]
ssh_config = []
connect_timeout = 7.5
merge_window = 0.5

[[respond]]
name = "night-hold"
action = "credential-hold"
kinds = ["zscore", "novelty"]
agree = 2
mode = "act"
protected = ["acme/billing"]
business_hours = "mon-fri 08:00-19:00"
utc_offset = "+01:00"
act_in_business_hours = false
[[respond]]
name = "throttle"
action = "server-send-limit"
send_limit = 100

[respond_control]
kill_switch = true
max_actions_per_hour = 2
"""


def test_effective_config_prints_every_section_and_loads_back_equal(tmp_path: Path) -> None:
    original = load_settings(write(tmp_path, FULL_CONFIG), environ={}).settings
    text = effective_config_text(original)
    assert SECRET not in text
    for section in Settings.model_fields:  # every section of Settings is printed
        assert re.search(rf"^\[\[?{section}[\].]", text, re.MULTILINE), section
    assert 'protected_servers = ["acme/mail", "7"]' in text
    assert '"app.quit" = "ctrl+q"' in text
    assert "[[review.steps]]" in text and "[detection.static.bounced]" in text
    loaded = Settings.model_validate(tomllib.loads(text))
    assert loaded.database is not None and original.database is not None
    assert loaded.database.password is not None
    assert loaded.database.password.get_secret_value() == "********"
    unmasked = loaded.model_copy(
        update={"database": loaded.database.model_copy(update={"password": original.database.password})}
    )
    assert unmasked == original
    assert original != Settings()  # the config really sets every section
    for name in Settings.model_fields:
        assert getattr(original, name) != getattr(Settings(), name), name


def test_effective_config_of_defaults_loads_back_equal() -> None:
    text = effective_config_text(Settings())
    assert Settings.model_validate(tomllib.loads(text)) == Settings()


@pytest.mark.parametrize(
    ("environ", "variable", "key"),
    [
        # a config section model's own validator reports the whole section
        ({"POSTALTOP_DETECTION__Z_WARNING": "20"}, "POSTALTOP_DETECTION__Z_WARNING", "detection"),
        ({"POSTALTOP_REVIEW__TOP": "0"}, "POSTALTOP_REVIEW__TOP", "review.top"),
        ({"POSTALTOP_SSH__MERGE_WINDOW": "x"}, "POSTALTOP_SSH__MERGE_WINDOW", "ssh.merge_window"),
        ({"POSTALTOP_UI__REFRESH_HZ": "100"}, "POSTALTOP_UI__REFRESH_HZ", "ui.refresh_hz"),
        ({"POSTALTOP_ACTIONS__MAX_ROWS": "0"}, "POSTALTOP_ACTIONS__MAX_ROWS", "actions.max_rows"),
    ],
)
def test_bad_environment_value_names_the_variable(environ: dict[str, str], variable: str, key: str) -> None:
    message = error_of(None, environ)
    assert message.startswith(f"config error in environment variable {variable}: {key}: "), message
    assert "defaults" not in message


def test_section_error_names_every_variable_of_the_section(tmp_path: Path) -> None:
    path = write(tmp_path, "[detection]\nz_critical = 9.0\n")
    environ = {"POSTALTOP_DETECTION__Z_WARNING": "20", "POSTALTOP_DETECTION__MIN_VOLUME": "5"}
    message = error_of(path, environ)
    variables = "POSTALTOP_DETECTION__MIN_VOLUME, POSTALTOP_DETECTION__Z_WARNING"
    assert message.startswith(f"config error in environment variables {variables}: detection: "), message
    assert "z_warning must not exceed z_critical" in message
    # the same mistake in the file points at the file's line
    message = error_of(write(tmp_path, "[detection]\nz_warning = 20.0\n", name="b.toml"), {})
    assert f"{tmp_path / 'b.toml'}, line 1: detection: z_warning must not exceed" in message


def test_find_line_handles_tables_arrays_and_dotted_keys() -> None:
    text = (
        '# comment\n[ui]\ntheme = "dark"\n[ui.keymap]\nquit = "q"\n'
        '[[hosts]]\nname = "a"\n[[hosts]]\nname = "b"\ndescription = """\nport = 1\n"""\nport = 2\n'
        'database.host = "x"\n'
    )
    assert find_line(text, ("ui", "theme")) == 3
    assert find_line(text, ("ui", "keymap", "quit")) == 5
    assert find_line(text, ("hosts", 1, "name")) == 9
    assert find_line(text, ("hosts", 1, "port")) == 13  # not the line inside the multi-line string
    assert find_line(text, ("hosts", 0, "address")) == 6  # missing key: its table
    assert find_line(text, ("actions", "enabled")) is None


# --- the reference documents every key -------------------------------------------------------------


def _all_fields() -> list[tuple[str, str, type[BaseModel]]]:
    sections: list[tuple[str, type[BaseModel]]] = [
        ("ui", UiConfig),
        ("database", DatabaseConfig),
        ("hosts", HostConfig),
        ("actions", ActionsConfig),
    ]
    return [(section, name, model) for section, model in sections for name in model.model_fields]


@pytest.mark.parametrize(("section", "name", "model"), _all_fields())
def test_every_key_is_documented(section: str, name: str, model: type[BaseModel]) -> None:
    docs = DOCS.read_text(encoding="utf-8")
    assert f"`{name}`" in docs, f"{section}.{name} is missing from {DOCS.name}"
    assert field_docstrings(model).get(name), f"{section}.{name} has no docstring"
    if section != "hosts":
        assert f"POSTALTOP_{section.upper()}__{name.upper()}" in docs
