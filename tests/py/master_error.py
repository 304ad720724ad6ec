"""A master that fails after starting a task: the task must stop, the run fails."""

import moonpy


def spinner() -> None:
    while moonpy.running():
        moonpy.timer.sleep_millis(1)
    print("spinner stopped", flush=True)


def master() -> None:
    moonpy.start_task(spinner)
    moonpy.timer.sleep_millis(100)
    t = None
    t.value = 1  # AttributeError on purpose
