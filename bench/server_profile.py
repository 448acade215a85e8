"""`python -m bench.server_profile OUT.pstats serve --port P …`: citygrid's server (as
`python -m api serve …`) under cProfile in every thread, so that FastAPI's worker threads (where
sync routes such as /lookup run) are profiled along with the event loop; the merged profile is
written to OUT.pstats when the server stops (SIGINT).

`python -m cProfile -m api serve` would profile the event loop's thread only.
"""

from __future__ import annotations

import cProfile
import pstats
import sys
import threading
from typing import Any

_profilers: list[cProfile.Profile] = []
_lock = threading.Lock()


def _start_in_thread(frame: Any, event: str, arg: Any) -> None:
    """Installed by threading.setprofile: the first event of a new thread starts its own
    profiler (which replaces this hook in that thread)."""
    profiler = cProfile.Profile()
    with _lock:
        _profilers.append(profiler)
    profiler.enable()


def main() -> None:
    out, args = sys.argv[1], sys.argv[2:]
    threading.setprofile(_start_in_thread)
    main_profiler = cProfile.Profile()
    _profilers.append(main_profiler)
    from api.cli import main as cli_main

    main_profiler.enable()
    try:
        cli_main(args)
    except SystemExit:
        pass
    finally:
        main_profiler.disable()
        threading.setprofile(None)  # type: ignore[arg-type]
        with _lock:
            profilers = list(_profilers)
        for p in profilers:
            p.create_stats()
        stats = pstats.Stats(profilers[0])
        for p in profilers[1:]:
            if p.stats:   # type: ignore[attr-defined]
                stats.add(p)
        stats.dump_stats(out)


if __name__ == "__main__":
    main()
