"""moonpy's exception tree (the Python side; DPDK failures come from `_dpdk`)."""


class MoonpyError(Exception):
    """Base of every error moonpy reports to a user as one clear line."""


class ConfigError(MoonpyError):
    """A configuration file, command-line option or port spec is wrong."""


class ScriptError(MoonpyError):
    """A user script failed: syntax, runtime error, or a task that died."""

    def __init__(self, message: str, *, task: str = "master", details: str = "") -> None:
        super().__init__(message)
        self.task = task
        self.details = details


class TaskError(ScriptError):
    """A task could not be started (arguments, cores)."""
