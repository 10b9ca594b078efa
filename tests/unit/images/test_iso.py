"""ISO choice and local checksum verification happen before any VM starts."""

import hashlib

import pytest

from xenlab.images import iso
from xenlab.errors import ConfigError
from tests.support import labs


def _iso(tmp_path):
    path = tmp_path / "x.iso"
    path.write_bytes(b"not really an installer" * 1000)
    return path, hashlib.sha256(path.read_bytes()).hexdigest()


def test_wrong_checksum_is_refused_with_both_digests(tmp_path):
    path, real = _iso(tmp_path)
    with pytest.raises(ConfigError) as err:
        iso.verify(path, "sha256:" + "0" * 64)
    message = err.value.message
    assert "sha256:" + "0" * 64 in message and f"sha256:{real}" in message
    assert "\n" not in message and err.value.exit_code == 2


def test_right_checksum_passes_and_none_is_computed(tmp_path):
    path, real = _iso(tmp_path)
    assert iso.verify(path, f"sha256:{real.upper()}") == f"sha256:{real.upper()}"
    assert iso.verify(path, "") == f"sha256:{real}"


def test_missing_local_iso(tmp_path):
    with pytest.raises(ConfigError, match="no such file"):
        iso.verify(tmp_path / "nope.iso", "")


def test_flavour_iso_is_the_default_with_its_pinned_digest(tmp_path):
    cfg = labs.load(tmp_path, "xcp-ng-8.3")
    chosen = iso.resolve(cfg, cfg.flavour)
    assert chosen.url == cfg.flavour.iso_url and not chosen.local
    assert chosen.checksum == "sha256:6f0717b0414df1a9184839473b9b7ef46a06f428bd3f1440c56b955ffbb3e649"


def test_iso_path_beats_the_flavour_and_is_verified(tmp_path):
    path, real = _iso(tmp_path)
    cfg = labs.load(tmp_path / "lab", "xcp-ng-8.2", extra=f'[iso]\npath = "{path}"\nchecksum = "sha256:{"1" * 64}"\n')
    with pytest.raises(ConfigError, match="checksum mismatch"):
        iso.resolve(cfg, cfg.flavour)


def test_flavour_without_public_iso_asks_for_a_path(tmp_path):
    cfg = labs.load(tmp_path, "xenserver-7.1")
    with pytest.raises(ConfigError, match="iso.path"):
        iso.resolve(cfg, cfg.flavour)
