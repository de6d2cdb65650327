"""Keep the collector's full passes short in a long-running process.

A full (generation 2) garbage collection walks every container object alive. After start-up most of them are
the imported modules' functions, classes and constants (Textual, Rich, pydantic, postaltop: about 80,000
objects), which live as long as the process; walking them took 70-130 ms of CPU per full pass with a
50-host fleet streaming, a pause of the event loop a few times a minute. :func:`freeze_startup_heap` moves
what is alive once start-up is over to the collector's permanent generation, so later full passes walk only
what the run created since.
"""

from __future__ import annotations

import gc

_frozen = False


def freeze_startup_heap() -> bool:
    """Collect once, then freeze every object alive (once per process); True if this call froze.

    Once per process: a second application in the same process (tests) must not freeze the first one's
    leftovers.
    """
    global _frozen
    if _frozen:
        return False
    _frozen = True
    gc.collect()
    gc.freeze()
    return True
