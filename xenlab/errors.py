"""Errors users see as one line and a distinct exit code, never a traceback."""

# Exit codes, one per kind of failure, so scripts and CI can tell them apart.
EXIT_FAILED = 1  # a check found problems (verify, check-config)
EXIT_CONFIG = 2  # bad configuration or arguments
EXIT_TOOL = 3  # an external tool is missing or failed (packer, vagrant, ssh)
EXIT_HOST = 4  # a host is unreachable or did not answer in time
EXIT_AUTH = 5  # credentials were refused
EXIT_UNSUPPORTED = 6  # the host cannot serve this lab (e.g. no ext SR)


class XenlabError(Exception):
    """An error with a one-line message for the user and an exit code."""

    exit_code = EXIT_TOOL

    def __init__(self, message: str, exit_code: int | None = None):
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code

    @property
    def message(self) -> str:
        # One line, whatever the cause carried (tool output, multi-line reprs).
        return " ".join(str(self.args[0]).split())


class ConfigError(XenlabError):
    exit_code = EXIT_CONFIG


class ToolError(XenlabError):
    exit_code = EXIT_TOOL


class HostError(XenlabError):
    exit_code = EXIT_HOST


class AuthError(XenlabError):
    exit_code = EXIT_AUTH


class UnsupportedHost(XenlabError):
    exit_code = EXIT_UNSUPPORTED


class ChecksFailed(XenlabError):
    exit_code = EXIT_FAILED
