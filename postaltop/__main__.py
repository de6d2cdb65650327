"""Allow ``python -m postaltop``."""

from __future__ import annotations

from postaltop.cli import main

raise SystemExit(main())
