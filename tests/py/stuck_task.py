"""A task that never checks moonpy.running(): reported, not hung."""

import moonpy


def stuck() -> None:
    x = 0
    while True:
        x += 1


def master() -> None:
    moonpy.start_task(stuck)
    moonpy.set_runtime(0.3)
    moonpy.wait_for_tasks()
