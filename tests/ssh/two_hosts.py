"""Start two loopback sshd "hosts" with endless Postal containers and write a config for them.

Used to run the real monitor by hand (or in tmux)::

    python -m tests.ssh.two_hosts /tmp/pt-two &      # prints the config path, runs until killed
    postaltop --config /tmp/pt-two/config.toml

Both servers and their session processes are killed on SIGTERM/SIGINT.
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
from pathlib import Path

from tests.support.sshd import SshdServer, start_sshd


def write_config(root: Path, servers: dict[str, SshdServer]) -> Path:
    """A config file naming the servers as hosts, their known_hosts files and no ssh config."""
    lines = ["[ssh]"]
    known = ", ".join(f'"{s.known_hosts}"' for s in servers.values())
    lines += [f"known_hosts = [{known}]", "ssh_config = []", ""]
    for name, server in servers.items():
        lines += [
            "[[hosts]]",
            f'name = "{name}"',
            'address = "127.0.0.1"',
            f"port = {server.port}",
            f'user = "{server.user}"',
            f'key_file = "{server.client_key}"',
            'since = "1m"',
            "",
        ]
    path = root / "config.toml"
    path.write_text("\n".join(lines))
    path.chmod(0o600)
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", type=Path)
    parser.add_argument("--rate", type=float, default=5.0, help="lines per second per container")
    args = parser.parse_args()
    root: Path = args.root
    root.mkdir(parents=True, exist_ok=True)
    servers: dict[str, SshdServer] = {}
    start = time.time_ns() - 30_000_000_000
    try:
        for name, services in (("mx1", ("smtp", "worker")), ("mx2", ("smtp", "web"))):
            server = start_sshd(root / name)
            for service in services:
                server.add_container(f"postal-{service}-1", service, rate=args.rate, start_ns=start)
            servers[name] = server
        print(write_config(root, servers), flush=True)
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        while True:
            time.sleep(3600)
    except (KeyboardInterrupt, SystemExit):
        return 0
    finally:
        for server in servers.values():
            server.kill()


if __name__ == "__main__":
    sys.exit(main())
