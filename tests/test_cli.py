"""The command line: version, config check/path, dispatch to the UI entry points, argument validation."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import types
from pathlib import Path
from typing import Any

import pytest

from postaltop import __version__, cli, locations, preflight
from postaltop.config import LoadedSettings

REPO_ROOT = Path(__file__).resolve().parent.parent
SECRET = "Very-Secret-Pw-42"


class Recorder:
    """Stands in for one UI entry point: records its calls, returns a chosen exit code."""

    def __init__(self, result: object = 0) -> None:
        self.calls: list[tuple[tuple[Any, ...], dict[str, Any]]] = []
        self.result = result

    def __call__(self, *args: Any, **kwargs: Any) -> object:
        self.calls.append((args, kwargs))
        if isinstance(self.result, BaseException):
            raise self.result
        return self.result


@pytest.fixture
def ui(monkeypatch: pytest.MonkeyPatch) -> types.SimpleNamespace:
    """Replace the TUI entry points (``postaltop.commands.tui``, tested elsewhere) by recorders."""
    fake = types.ModuleType("postaltop.commands.tui")
    recorders = types.SimpleNamespace(
        run_monitor=Recorder(), run_first_run=Recorder(), run_demo=Recorder(), preload=Recorder()
    )
    for name, recorder in vars(recorders).items():
        setattr(fake, name, recorder)
    monkeypatch.setitem(sys.modules, "postaltop.commands.tui", fake)
    return recorders


def write_config(tmp_path: Path, text: str, mode: int = 0o600) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text)
    path.chmod(mode)
    return path


# --- version ---------------------------------------------------------------------------------------


def test_version_in_process(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--version"]) == 0
    assert capsys.readouterr().out == f"postaltop {__version__}\n"
    assert __version__ == "0.1.0"


def test_version_in_a_real_process() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "postaltop", "--version"],
        cwd=REPO_ROOT,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (result.returncode, result.stdout, result.stderr) == (0, "postaltop 0.1.0\n", "")


# --- config check / path ---------------------------------------------------------------------------


def test_config_check_good_file_masks_the_secret(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_config(tmp_path, f'[database]\nhost = "db1"\npassword = "{SECRET}"\n[ui]\ntheme = "light"\n')
    assert cli.main(["config", "check", "--config", str(path)]) == 0
    out, err = capsys.readouterr()
    assert SECRET not in out + err
    assert f"# configuration file: {path}" in out
    assert 'password = "********"' in out
    assert 'host = "db1"' in out and 'theme = "light"' in out
    assert "# database password: config file (database.password)" in out


def test_config_check_names_the_password_source_not_the_password(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POSTALTOP_DB_PASSWORD", SECRET)
    monkeypatch.setenv("POSTALTOP_DATABASE__PASSWORD", SECRET + "-2")
    path = write_config(tmp_path, '[database]\nhost = "db1"\n', mode=0o644)
    assert cli.main(["--config", str(path), "config", "check"]) == 0
    out, err = capsys.readouterr()
    assert SECRET not in out + err
    assert "# database password: environment variable POSTALTOP_DB_PASSWORD" in out


def test_config_check_without_file(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["config", "check"]) == 0
    out = capsys.readouterr().out
    assert f"no config file; defaults (looked for {locations.default_config_path()})" in out
    assert "[ui]" in out and "# [database] is not configured" in out


@pytest.mark.parametrize("where", ["before", "after"])
def test_config_check_bad_file(tmp_path: Path, capsys: pytest.CaptureFixture[str], where: str) -> None:
    path = write_config(tmp_path, '[database]\nhost = "db1"\nprot = 3306\n')
    argv = (
        ["--config", str(path), "config", "check"]
        if where == "before"
        else ["config", "check", "--config", str(path)]
    )
    assert cli.main(argv) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert f"{path}, line 3" in err and "did you mean 'port'?" in err
    assert "Traceback" not in err


def test_config_check_refuses_a_readable_password_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_config(tmp_path, f'[database]\npassword = "{SECRET}"\n', mode=0o644)
    assert cli.main(["config", "check", "--config", str(path)]) == 2
    out, err = capsys.readouterr()
    assert f"chmod 600 {path}" in err
    assert SECRET not in out + err


def test_config_check_missing_explicit_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["config", "check", "--config", str(tmp_path / "absent.toml")]) == 2
    assert "config file not found" in capsys.readouterr().err


def test_errors_cannot_drive_the_terminal(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "evil\x1b]0;pwned\x07.toml"
    path.write_text('[ui]\n"\\u001b[2J" = 1\n')
    assert cli.main(["config", "check", "--config", str(path)]) == 2
    err = capsys.readouterr().err
    assert "\x1b" not in err and "\x07" not in err
    assert "line 2" in err


def test_config_path(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["config", "path"]) == 0
    captured = capsys.readouterr()
    assert captured.out == f"{locations.default_config_path()}\n"
    assert "does not exist" in captured.err
    given = write_config(tmp_path, "")
    assert cli.main(["config", "path", "--config", str(given)]) == 0
    captured = capsys.readouterr()
    assert captured.out == f"{given}\n" and "exists" in captured.err


# --- dispatch to the UI ----------------------------------------------------------------------------


def test_no_config_opens_first_run(ui: types.SimpleNamespace) -> None:
    assert cli.main([]) == 0
    assert ui.run_monitor.calls == [] and len(ui.run_first_run.calls) == 1
    (loaded,), _ = ui.run_first_run.calls[0]
    assert isinstance(loaded, LoadedSettings) and loaded.settings_source is None


def test_config_file_opens_the_monitor(tmp_path: Path, ui: types.SimpleNamespace) -> None:
    path = write_config(tmp_path, '[[hosts]]\nname = "mx1"\naddress = "192.0.2.1"\n')
    ui.run_monitor.result = 3
    assert cli.main(["--config", str(path)]) == 3
    assert ui.run_first_run.calls == []
    (loaded,), _ = ui.run_monitor.calls[0]
    assert isinstance(loaded, preflight.FirstFrame)
    assert loaded.source == path and loaded.hosts == ("mx1",) and not loaded.database
    assert len(ui.preload.calls) == 1


def test_environment_only_configuration_opens_the_monitor(
    ui: types.SimpleNamespace, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POSTALTOP_DATABASE__HOST", "db.internal")
    assert cli.main([]) == 0
    assert len(ui.run_monitor.calls) == 1 and ui.run_first_run.calls == []


def test_bad_config_does_not_open_the_ui(tmp_path: Path, ui: types.SimpleNamespace, capsys: Any) -> None:
    path = write_config(tmp_path, "[ui]\nrefresh_hz = 99\n")
    assert cli.main(["--config", str(path)]) == 2
    assert ui.run_monitor.calls == [] and ui.run_first_run.calls == []
    assert "ui.refresh_hz" in capsys.readouterr().err


def test_demo_defaults(ui: types.SimpleNamespace) -> None:
    assert cli.main(["demo"]) == 0
    (loaded,), kwargs = ui.run_demo.calls[0]
    assert isinstance(loaded, preflight.FirstFrame)
    assert kwargs == {"scenario": "normal", "seed": 1, "speed": 1.0}


def test_demo_arguments(ui: types.SimpleNamespace, tmp_path: Path) -> None:
    path = write_config(tmp_path, '[ui]\ntheme = "light"\n')
    argv = ["demo", "--scenario", "brute-force", "--seed", "42", "--speed", "60", "--config", str(path)]
    assert cli.main(argv) == 0
    (loaded,), kwargs = ui.run_demo.calls[0]
    assert kwargs == {"scenario": "brute-force", "seed": 42, "speed": 60.0}
    assert loaded.ui.theme == "light"


def test_unknown_scenario_lists_valid_ones(
    ui: types.SimpleNamespace, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["demo", "--scenario", "no-such-thing"]) == 2
    err = capsys.readouterr().err
    assert "unknown scenario 'no-such-thing'" in err
    assert all(name in err for name in cli.scenario_names())
    assert "normal" in cli.scenario_names() and "brute-force" in cli.scenario_names()
    assert ui.run_demo.calls == []


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("--speed", "0"),
        ("--speed", "0.05"),
        ("--speed", "3601"),
        ("--speed", "nan"),
        ("--speed", "inf"),
        ("--speed", "fast"),
        ("--seed", "-1"),
        ("--seed", "1.5"),
        ("--seed", "x"),
    ],
)
def test_bad_demo_numbers(
    ui: types.SimpleNamespace, capsys: pytest.CaptureFixture[str], option: str, value: str
) -> None:
    assert cli.main(["demo", option, value]) == 2
    err = capsys.readouterr().err
    assert f"argument {option}" in err and repr(value) in err
    assert ui.run_demo.calls == []


def test_speed_limits_are_accepted(ui: types.SimpleNamespace) -> None:
    assert cli.main(["demo", "--speed", "0.1", "--seed", "0"]) == 0
    assert cli.main(["demo", "--speed", "3600"]) == 0
    assert [call[1]["speed"] for call in ui.run_demo.calls] == [0.1, 3600.0]


# --- failures --------------------------------------------------------------------------------------


def test_unexpected_error_is_one_line(ui: types.SimpleNamespace, capsys: pytest.CaptureFixture[str]) -> None:
    ui.run_first_run.result = RuntimeError("boom\nsecond line")
    assert cli.main([]) == 1
    err = capsys.readouterr().err
    assert err == (
        "postaltop: error: RuntimeError: boom second line (run with POSTALTOP_DEBUG=1 for a traceback)\n"
    )


def test_debug_shows_the_traceback(
    ui: types.SimpleNamespace, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POSTALTOP_DEBUG", "1")
    ui.run_first_run.result = RuntimeError("boom")
    assert cli.main([]) == 1
    err = capsys.readouterr().err
    assert "Traceback" in err and "RuntimeError: boom" in err


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["no-such-command"]) == 2
    assert "invalid choice" in capsys.readouterr().err
    assert cli.main(["config"]) == 2


def test_closed_pipe_is_quiet(tmp_path: Path) -> None:
    read_end, write_end = os.pipe()
    os.close(read_end)  # nobody reads: the first write fails with EPIPE
    try:
        result = subprocess.run(
            [sys.executable, "-m", "postaltop", "config", "check"],
            cwd=REPO_ROOT,
            env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            timeout=60,
            check=False,
        )
    finally:
        os.close(write_end)
    assert result.returncode == 141
    assert result.stderr == ""


# --- the command registry --------------------------------------------------------------------------


def test_a_new_command_slots_in(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(cli, "COMMANDS", dict(cli.COMMANDS))
    seen: list[argparse.Namespace] = []

    def configure(parser: argparse.ArgumentParser) -> None:
        sub = parser.add_subparsers(required=True)
        trust = cli.add_subcommand(sub, "trust", "trust a host key")
        trust.add_argument("name")
        trust.set_defaults(handler=handler)

    def handler(args: argparse.Namespace) -> int:
        seen.append(args)
        return 7

    cli.register_command(cli.Command("sample", "a sample command", configure))
    with pytest.raises(ValueError, match="already registered"):
        cli.register_command(cli.Command("sample", "again", configure))
    path = write_config(tmp_path, "")
    assert cli.main(["sample", "trust", "mx1", "--config", str(path)]) == 7
    assert seen[0].name == "mx1"
    assert cli.load_from_args(seen[0]).settings_source == path


def test_config_check_names_the_environment_override_of_the_password(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("POSTALTOP_DB_PASSWORD", raising=False)
    monkeypatch.setenv("POSTALTOP_DATABASE__PASSWORD", SECRET)
    path = write_config(tmp_path, '[database]\nhost = "db1"\nuse_my_cnf = false\n')
    assert cli.main(["--config", str(path), "config", "check"]) == 0
    out, err = capsys.readouterr()
    assert SECRET not in out + err
    assert "# database password: environment variable POSTALTOP_DATABASE__PASSWORD (database.password)" in out


def test_config_check_names_where_each_notification_secret_comes_from(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEST_HOOK", SECRET)
    key = tmp_path / "pd.key"
    key.write_text(SECRET)
    key.chmod(0o600)
    path = write_config(
        tmp_path,
        f'[notify.slack]\nwebhook_url_env = "TEST_HOOK"\n[notify.pagerduty]\nrouting_key_file = "{key}"\n',
    )
    assert cli.main(["--config", str(path), "config", "check"]) == 0
    out, err = capsys.readouterr()
    assert SECRET not in out + err
    assert "# notify.slack webhook_url: environment variable TEST_HOOK (set)" in out
    assert f"# notify.pagerduty routing_key: file {key}" in out
