"""The engine: EAL, ports, counters, shutdown; run configuration; the task/core registry;
what crosses between tasks. Knows no script API and no screen."""
