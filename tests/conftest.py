import pytest

from tests.support.leaks import logs_not_private_or_not_redacted

# The names the test modules give the passwords their labs use.
SECRET_NAMES = ("PASSWORD", "SENTINEL")


@pytest.fixture(autouse=True)
def _forget_secrets():
    """Each test starts with no registered secret: a password one test loads must
    not redact another test's output (in a real run there is one lab password)."""
    from xenlab.core import console

    console._secrets.clear()
    yield
    console._secrets.clear()


@pytest.fixture(scope="session", autouse=True)
def lab_logs_are_private_and_redacted(request, tmp_path_factory):
    """After the run, scan every lab folder the tests made (all under pytest's base temp):
    each log is 0600 and holds none of the tests' passwords."""
    yield
    secrets = {value for item in request.session.items for name in SECRET_NAMES
               if isinstance(value := getattr(item.module, name, None), str)}
    assert logs_not_private_or_not_redacted(tmp_path_factory.getbasetemp(), secrets) == []
