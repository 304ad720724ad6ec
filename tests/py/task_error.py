"""A task that raises: the run stops and fails with the task's frames."""

import moonpy


def crasher(n: int) -> None:
    moonpy.timer.sleep_millis(50)
    helper(n)


def helper(n: int) -> None:
    raise RuntimeError(f"boom in task {n}")


def spinner() -> None:
    while moonpy.running():
        moonpy.timer.sleep_millis(1)
    print("spinner stopped", flush=True)


def master() -> None:
    moonpy.start_shared_task(spinner)
    moonpy.start_task(crasher, 7)
    moonpy.wait_for_tasks()
