"""os-xenapi's sdist: pinned by sha256, checked every time it is used."""

import pytest

from tests.unit.xenserver.test_dom0 import sdist as fake_sdist
from xenlab.core.files import file_digest
from xenlab.errors import ToolError
from xenlab.xenserver import osxenapi


def test_a_cached_sdist_that_is_not_the_pinned_one_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    target = osxenapi.sdist_dir("0.3.4")
    target.mkdir(parents=True)
    fake = fake_sdist(target)
    with pytest.raises(ToolError, match="is not os-xenapi 0.3.4's pinned"):
        osxenapi.sdist("0.3.4")
    monkeypatch.setitem(osxenapi.SDIST_SHA256, "0.3.4", file_digest(fake))
    assert osxenapi.sdist("0.3.4") == fake


def test_a_version_without_a_pin_is_refused_before_any_download(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    with pytest.raises(ToolError, match="os-xenapi 9.9.9 has no pinned sha256"):
        osxenapi.sdist("9.9.9")
    assert not (tmp_path / "cache").exists()
