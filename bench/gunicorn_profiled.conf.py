"""gunicorn.conf.py with a CPU-time profiler in every worker (bench/run.py --profile; see profile_workers.py)."""

import cProfile
import os
from pathlib import Path

_REPO_CONFIG = Path(__file__).resolve().parent.parent / "gunicorn.conf.py"
exec(compile(_REPO_CONFIG.read_text(), str(_REPO_CONFIG), "exec"))  # every setting and hook of the real config

_configured_post_fork = post_fork  # noqa: F821 (defined by the exec above)


def post_fork(server, worker):  # noqa: F811
    _configured_post_fork(server, worker)
    # cProfile's own clock: reading the CPU clock instead costs a system call per event and swamps the figures.
    # Time spent waiting for a request is set apart by profile_workers.summarize.
    worker.bench_profile = cProfile.Profile()
    worker.bench_profile.enable()


def worker_exit(server, worker):
    profile = getattr(worker, "bench_profile", None)
    if profile is not None:
        profile.disable()
        profile.dump_stats(os.path.join(os.environ["BENCH_PROFILE_DIR"], f"worker-{os.getpid()}.prof"))
