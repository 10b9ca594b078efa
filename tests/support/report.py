"""A line on pytest's terminal from a fixture, even when the tests pass (CI's log keeps it)."""


def say(request, line: str) -> None:
    # Output is captured during fixture set-up and teardown: step out of the capture first.
    plugins = request.config.pluginmanager
    with plugins.get_plugin("capturemanager").global_and_fixture_disabled():
        plugins.get_plugin("terminalreporter").write_line(line)
