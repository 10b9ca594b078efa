import pytest

# tests/infra/ holds the deployment suites `invoke verify` runs against a lab's
# hosts; they are not part of xenlab's own test run.
collect_ignore = ["infra"]


@pytest.fixture(autouse=True)
def _forget_secrets():
    """Each test starts with no registered secret: a password one test loads must
    not redact another test's output (in a real run there is one lab password)."""
    from xenlab.core import console

    console._secrets.clear()
    yield
    console._secrets.clear()
