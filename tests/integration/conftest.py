"""A guard over every integration run: the logs the labs wrote are 0600 and redacted."""

import pytest

from tests.support.leaks import logs_not_private_or_not_redacted

# The names the test modules give the passwords their labs use.
SECRET_NAMES = ("PASSWORD", "SENTINEL")


@pytest.fixture(scope="session", autouse=True)
def lab_logs_are_private_and_redacted(request, tmp_path_factory):
    """After the run, scan every lab folder the tests made (all under pytest's base temp)."""
    yield
    secrets = {value for item in request.session.items for name in SECRET_NAMES
               if isinstance(value := getattr(item.module, name, None), str)}
    assert logs_not_private_or_not_redacted(tmp_path_factory.getbasetemp(), secrets) == []
