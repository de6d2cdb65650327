"""Guided log reviews: the checklist, the evidence of each step, findings and the report (pure).

* :mod:`.checklist` — the steps, read from TOML (packaged ``postaltop/data/checklist.toml`` plus config).
* :mod:`.window` — the time window (``--since 7d`` or ``--from … --to …``).
* :mod:`.inputs` — what the evidence is computed from: retained log lines, facts, sending figures.
* :mod:`.evidence` — one :class:`~.model.Evidence` per step.
* :mod:`.report` — Markdown and HTML reports, problems first, with the previous review compared.
"""
