import pytest


@pytest.fixture(scope="session")
def standin_build(tmp_path_factory):
    """One cold stand-in build per test session, for every test that needs the box."""
    from tests.support import standin_build

    with standin_build.built(tmp_path_factory.mktemp("standin-lab")) as lab:
        yield lab
