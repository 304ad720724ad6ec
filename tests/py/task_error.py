"""A task that raises: reported at once with its frames, while (as in libmoon) the other
task and the master go on to the run's end; the exit status says a task failed."""

import moonpy


def crasher(n: int) -> None:
    moonpy.timer.sleep_millis(100)
    helper(n)


def helper(n: int) -> None:
    raise RuntimeError(f"boom in task {n}")


def spinner() -> int:
    start = moonpy.timer.get_time()
    while moonpy.running():
        moonpy.timer.sleep_millis(1)
    print(f"spinner stopped after {moonpy.timer.get_time() - start:.1f} s", flush=True)
    return 42


def master() -> None:
    moonpy.set_runtime(1.5)
    spin = moonpy.start_shared_task(spinner)
    crash = moonpy.start_task(crasher, 7)
    print(f"crasher result: {crash.wait()!r}", flush=True)
    print(f"master continued, running={moonpy.running()}", flush=True)
    print(f"spinner result: {spin.wait()}", flush=True)
    moonpy.wait_for_tasks()
