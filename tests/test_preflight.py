"""The TUI's start-up check (``postaltop.preflight``): a forked child validates, with the sequential verdicts.

A bad configuration must never open the UI, through the fork as without it; a good one gives the first frame
what it shows (the configured hosts) and nothing secret crosses the pipe.
"""

from __future__ import annotations

import dataclasses
import json
import os
import pty
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from postaltop import cli, preflight
from postaltop.cli_parser import LazyCommands
from postaltop.config import ConfigError, load_settings
from tests.support.pty_read import read_until
from tests.test_config import BAD_FILES

REPO_ROOT = Path(__file__).resolve().parent.parent
SECRET = "Very-Secret-Pw-42"
ALT_SCREEN = b"\x1b[?1049h"
"""What Textual writes first when it opens the UI (the alternate screen)."""
GOOD = (
    '[[hosts]]\nname = "mx1"\naddress = "192.0.2.1"\n[[hosts]]\nname = "mx2"\naddress = "192.0.2.2"\n'
    f'[database]\nhost = "127.0.0.1"\npassword = "{SECRET}"\npassword_env = "POSTALTOP_TEST_UNSET_VARIABLE"\n'
    '[ui]\ntheme = "light"\nfollow = false\n[ui.keymap]\n"app.quit" = "ctrl+q"\n'
)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    path.chmod(0o600)
    return path


@pytest.fixture(autouse=True)
def fork_here(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fork even if an earlier test left a thread in this process (the CLI forks before any thread starts;
    the child here only validates, with pydantic and the models already imported, and leaves)."""
    monkeypatch.setattr(preflight, "can_fork", lambda: hasattr(os, "fork"))


def forked(path: Path | None) -> preflight.Pending:
    pending = preflight.start(path)
    assert pending.pid is not None, "the check did not fork"
    return pending


def test_a_good_config_gives_the_first_frame_what_it_shows(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD)
    frame = forked(path).result()
    assert frame.loaded is None  # validated in the child, the full settings are read after the frame
    assert frame.source == path and frame.path == path
    assert frame.hosts == ("mx1", "mx2") and frame.database and frame.is_configured
    assert frame.ui == preflight.UiChoices("light", {"app.quit": "ctrl+q"}, False)
    assert frame.warnings == ("database.password_env names POSTALTOP_TEST_UNSET_VARIABLE, which is not set",)
    here = preflight.check_here(path)
    assert dataclasses.replace(here, loaded=None) == frame
    loaded = frame.load()
    assert [h.name for h in loaded.settings.hosts] == ["mx1", "mx2"]


def test_nothing_secret_crosses_the_pipe(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD)
    report = json.dumps(preflight.verdict(path))
    assert SECRET not in report and "password" not in report.replace("password_env", "")


@pytest.mark.parametrize(("text", "expected"), BAD_FILES)
def test_every_bad_file_is_refused_through_the_fork_with_the_same_message(
    tmp_path: Path, text: str, expected: list[str]
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as sequential:
        load_settings(path)
    with pytest.raises(ConfigError) as through_fork:
        forked(path).result()
    assert through_fork.value.message == sequential.value.message


def test_a_bad_environment_variable_is_refused_through_the_fork(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POSTALTOP_UI__REFRESH_HZ", "100")
    with pytest.raises(ConfigError) as through_fork:
        forked(None).result()
    assert "POSTALTOP_UI__REFRESH_HZ" in through_fork.value.message


def test_without_fork_the_check_runs_here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delattr(os, "fork")
    good = preflight.start(write(tmp_path, GOOD))
    assert good.pid is None
    frame = good.result()
    assert frame.loaded is not None and frame.hosts == ("mx1", "mx2")
    bad = preflight.start(write(tmp_path, "[ui]\nrefresh_hz = 99\n"))
    with pytest.raises(ConfigError, match=r"ui\.refresh_hz"):
        bad.result()


def test_a_child_without_a_verdict_is_replaced_by_the_check_here(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def crash(path: Path | None) -> dict[str, object]:
        raise RuntimeError("the child failed")

    monkeypatch.setattr(preflight, "verdict", crash)  # the child runs the patched code
    path = write(tmp_path, "[ui]\nrefresh_hz = 99\n")
    with pytest.raises(ConfigError, match=r"ui\.refresh_hz"):
        forked(path).result()
    frame = forked(write(tmp_path, GOOD)).result()
    assert frame.loaded is not None and frame.hosts == ("mx1", "mx2")


def test_a_forked_check_can_be_incomplete_or_garbled() -> None:
    assert preflight._parse(b"") is None
    assert preflight._parse(b'{"verdict": "ok", "hosts": []') is None
    assert preflight._parse(b'{"verdict": "ok"}') is None
    assert preflight._parse(b'{"verdict": "config-error"}') is None
    assert preflight._parse(b'{"verdict": "config-error", "message": "m"}') == {
        "verdict": "config-error",
        "message": "m",
    }


def test_the_command_line_refuses_a_bad_config_before_the_ui_through_the_fork(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, '[database]\nhost = "db1"\nprot = 3306\n')
    assert cli.main(["--config", str(path)]) == 2
    assert cli.main(["demo", "--config", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count(f"{path}, line 3") == 2 and "did you mean 'port'?" in err


# --- a real process on a terminal ------------------------------------------------------------------


def spawn(tmp_path: Path, argv: list[str]) -> tuple[int, int]:
    env = {
        **os.environ,
        "TERM": "xterm-256color",
        "PYTHONPATH": str(REPO_ROOT),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "XDG_STATE_HOME": str(tmp_path / "state"),
    }
    pid, master = pty.fork()
    if pid == 0:
        os.execve(sys.executable, [sys.executable, "-m", "postaltop", *argv], env)
    return pid, master


def finish(pid: int, master: int, deadline_s: float = 20.0) -> tuple[bytes, int | None]:
    """Read until the child ends (or the deadline: then stop it); its output and exit code (None: stopped)."""
    out = b""
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        try:
            chunk = os.read(master, 65536)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    done, status = os.waitpid(pid, os.WNOHANG)
    while not done and time.monotonic() < deadline:  # the terminal closes a moment before the exit
        time.sleep(0.02)
        done, status = os.waitpid(pid, os.WNOHANG)
    if not done:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        os.close(master)
        return out, None
    os.close(master)
    return out, os.waitstatus_to_exitcode(status)


@pytest.mark.parametrize("command", [[], ["demo"]])
def test_a_bad_config_never_opens_the_ui_on_a_terminal(tmp_path: Path, command: list[str]) -> None:
    path = write(tmp_path, '[ui]\ntheme = "dark"\nrefresh_hz = 99\n')
    pid, master = spawn(tmp_path, [*command, "--config", str(path)])
    out, code = finish(pid, master)
    assert code == 2, out[-400:]
    assert ALT_SCREEN not in out
    assert b"ui.refresh_hz" in out and f"{path}, line 3".encode() in out


def test_the_first_frame_shows_the_configured_hosts_on_a_terminal(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD)
    pid, master = spawn(tmp_path, ["--config", str(path)])
    try:
        seen = read_until(
            master, lambda out: all(t in out for t in (b"filter /", b"mx1", b"mx2")), 30, "hosts"
        )
    finally:
        os.kill(pid, signal.SIGTERM)
        finish(pid, master, 10.0)
    assert ALT_SCREEN in seen


# --- what the parent imports before the first frame --------------------------------------------------


def test_the_parent_imports_no_pydantic_nor_the_run_before_the_first_frame() -> None:
    """The CLI, the chosen command's parser and the start screen's modules, in a fresh interpreter."""
    code = (
        "import sys\n"
        "from postaltop import cli\n"
        "cli.build_parser().parse_args(['demo'])\n"
        "import postaltop.commands.tui as tui\n"
        "tui.preload()\n"
        "print(' '.join(sorted(sys.modules)))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    loaded = set(done.stdout.split())
    assert "textual.app" in loaded and "postaltop.ui.screens.start" in loaded
    heavy = {
        "pydantic",
        "postaltop.config",
        "postaltop.engine",
        "postaltop.runtime.build",
        "postaltop.core.parsing",
        "postaltop.core.query",
        "postaltop.core.actions",
        "postaltop.core.alerts",
        "asyncssh",
        "pymysql",
    }
    assert not heavy & loaded, sorted(heavy & loaded)


def test_only_the_chosen_commands_arguments_are_built() -> None:
    parser = cli.build_parser()
    lazy = next(action for action in parser._actions if isinstance(action, LazyCommands))
    assert set(lazy.pending) == set(cli.COMMANDS)
    args = parser.parse_args(["demo", "--seed", "3"])
    assert args.seed == 3 and "demo" not in lazy.pending and "act" in lazy.pending


cli.build_parser()  # registers every command (their modules are imported when the parser is built)


@pytest.mark.parametrize("name", sorted(cli.COMMANDS))
def test_every_commands_help_lists_its_arguments(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main([name, "--help"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: postaltop {name}") and "--config FILE" in out


def test_no_fork_while_a_thread_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.undo()  # the real rule, not the fixture's
    release = threading.Event()
    thread = threading.Thread(target=release.wait)
    thread.start()
    try:
        assert not preflight.can_fork()
        assert preflight.start(None).pid is None
    finally:
        release.set()
        thread.join()
