"""``postaltop config init`` against the real sshd fixture, a postal.yml in Postal's v3 format and MariaDB.

The config it writes must pass ``config check`` and connect: watch reaches the database through the SSH tunnel
it configured, with the password from postal.yml read from the 0600 file (never printed).
"""

from __future__ import annotations

import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import mysql
from tests.support.postal_builder import ServerSpec
from tests.support.sshd import SshdServer
from tests.watch.watch_proc import running_watch

pytestmark = pytest.mark.slow

POSTALTOP = [sys.executable, "-m", "postaltop"]


def postal_yml(prefix: str, user: str, password: str) -> str:
    """A Postal v3 (``version: 2``) configuration as the installer writes it, with a test database."""
    return f"""version: 2

postal:
  web_hostname: postal.example.com
  web_protocol: https
  smtp_hostname: postal.example.com

main_db:
  host: localhost
  username: {user}
  password: "{password}"
  database: {prefix}

message_db:
  host: localhost
  username: {user}
  password: "{password}"
  database_name_prefix: {prefix}

logging:
  rails_log_enabled: false

rails:
  environment: production
  secret_key: 0f5ad1c24dbbd1d5e6ad50e1c0c6e9a6
"""


def ssh_config(sshd: SshdServer) -> str:
    return (
        "# the operator's own file\n"
        "Host mx1 postal-primary\n"
        "    HostName 127.0.0.1\n"
        f"    Port {sshd.port}\n"
        f"    User {sshd.user}\n"
        f"    IdentityFile {sshd.client_key}\n"
        "    IdentitiesOnly yes\n"
        "\n"
        "Host bastion-*\n"
        "    User jump\n"
        "\n"
        "Host *\n"
        "    ServerAliveInterval 30\n"
    )


def init(tmp_path: Path, sshd: SshdServer, answer: str, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*POSTALTOP, "config", "init", "--config", str(tmp_path / "postaltop.toml"),
         "--ssh-config", str(tmp_path / "ssh_config"), "--known-hosts", str(sshd.known_hosts),
         "--my-cnf", str(tmp_path / "no.my.cnf"), *extra],
        input=answer, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def test_config_init_from_ssh_config_and_postal_yml_connects(sshd: SshdServer, tmp_path: Path) -> None:
    target = mysql.available_target()
    layout = [ServerSpec(1, "acme", "main", per_hour=5)]
    with mysql.built_dataset(target, layout=layout, weeks=1) as data:
        grants = [f"SELECT ON `{data.prefix}`.*", f"SELECT ON `{data.prefix}-server-1`.*"]
        with mysql.temporary_user(target, f"{data.prefix}_ro", grants) as (user, password):
            postal_dir = tmp_path / "opt" / "postal" / "config"
            postal_dir.mkdir(parents=True)
            (postal_dir / "postal.yml").write_text(postal_yml(data.prefix, user, password))
            (tmp_path / "ssh_config").write_text(ssh_config(sshd))
            args = ["--postal-host", "mx1", "--postal-config", str(postal_dir / "postal.yml")]

            declined = init(tmp_path, sshd, "n\n", *args)
            assert declined.returncode == 1, declined.stderr
            assert "nothing written" in declined.stdout
            assert not (tmp_path / "postaltop.toml").exists() and not (tmp_path / "db-password").exists()

            result = init(tmp_path, sshd, "y\n", *args)
            assert result.returncode == 0, result.stdout + result.stderr
            out = result.stdout
            assert password not in out and password not in result.stderr
            # it showed what it found
            assert "SSH hosts in" in out and "mx1" in out and "postal-primary" in out
            assert "bastion-*" not in out  # patterns are defaults, not hosts
            assert f"main database  {data.prefix} at localhost:3306 (on the Postal host)" in out
            assert f"user           {user}" in out and "not shown" in out
            assert f"message DBs    {data.prefix}-server-<id>" in out
            assert "config check: valid (2 hosts, database: yes)" in out

            config = tmp_path / "postaltop.toml"
            secret = tmp_path / "db-password"
            for path in (config, secret):
                assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
            assert secret.read_text().strip() == password
            text = config.read_text()
            assert password not in text
            assert 'ssh_tunnel = "mx1"' in text and f'password_file = "{secret}"' in text
            assert f'message_db_prefix = "{data.prefix}"' in text

            check = subprocess.run(
                [*POSTALTOP, "config", "check", "--config", str(config)],
                capture_output=True,
                text=True,
                timeout=60,
            )
            assert check.returncode == 0, check.stderr
            assert f"# database password: file {secret}" in check.stdout
            assert password not in check.stdout + check.stderr

            # the configuration connects: watch polls the database through the SSH tunnel it set up
            with running_watch(tmp_path / "watch.log", "--config", str(config)) as watch:
                watch.wait_for(
                    "the database through the tunnel",
                    lambda: "postaltop_database_up 1.0" in watch.metrics_text(),
                    timeout=60,
                )
                assert 'postaltop_server_stale{server="acme/main"} 0.0' in watch.metrics_text()
            assert password not in (tmp_path / "watch.log").read_text()

            again = init(tmp_path, sshd, "y\n", *args)
            assert again.returncode == 2 and "already exists" in again.stderr


def test_config_init_refuses_an_unknown_postal_host_and_reports_an_unreadable_postal_yml(
    sshd: SshdServer, tmp_path: Path
) -> None:
    (tmp_path / "ssh_config").write_text(ssh_config(sshd))
    unknown = init(tmp_path, sshd, "y\n", "--postal-host", "nope")
    assert unknown.returncode == 2 and "not a Host" in unknown.stderr
    missing = init(
        tmp_path, sshd, "y\n", "--postal-host", "mx1", "--postal-config", str(tmp_path / "absent.yml")
    )
    assert missing.returncode == 1
    assert f"cannot read {tmp_path / 'absent.yml'} on mx1" in missing.stderr
    odd = tmp_path / "odd.yml"
    odd.write_text(
        "version: 2\nmain_db:\n  password: pw-never-shown\nmessage_db:\n  database_name_prefix: my-prefix\n"
    )
    refused = init(tmp_path, sshd, "y\n", "--postal-host", "mx1", "--postal-config", str(odd))
    assert refused.returncode == 2 and "message_db_prefix" in refused.stderr
    assert "pw-never-shown" not in refused.stdout + refused.stderr
    assert not (tmp_path / "postaltop.toml").exists() and not (tmp_path / "db-password").exists()


def test_config_init_from_my_cnf_without_postal_yml(sshd: SshdServer, tmp_path: Path) -> None:
    (tmp_path / "ssh_config").write_text(ssh_config(sshd))
    my_cnf = tmp_path / "my.cnf"
    my_cnf.write_text("[client]\nuser = postal_ro\nhost = db.internal\npassword = hunter2-secret\n")
    my_cnf.chmod(0o600)
    result = subprocess.run(
        [*POSTALTOP, "config", "init", "--config", str(tmp_path / "c.toml"), "--ssh-config",
         str(tmp_path / "ssh_config"), "--my-cnf", str(my_cnf), "--postal-host", "none", "--yes"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "user postal_ro, host db.internal, a password (not shown)" in result.stdout
    assert "hunter2-secret" not in result.stdout + (tmp_path / "c.toml").read_text()
    text = (tmp_path / "c.toml").read_text()
    assert 'user = "postal_ro"' in text and 'host = "db.internal"' in text and "use_my_cnf = true" in text
