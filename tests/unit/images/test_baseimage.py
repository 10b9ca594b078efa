"""The base image recipe: cached by its digest, BIOS boot code, root by label."""

from xenlab.images import baseimage


def test_cache_dir_follows_xdg(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert baseimage.cache_dir() == tmp_path / "xenlab"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert baseimage.cache_dir().parts[-2:] == (".cache", "xenlab")


def test_image_name_carries_the_recipe_digest(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert baseimage.image_path() == tmp_path / "xenlab" / f"base-bookworm-{baseimage.inputs()[:16]}.qcow2"
    assert baseimage.inputs() == baseimage.inputs()


def test_recipe_has_what_the_lab_needs():
    for pkg in ("linux-image-amd64", "grub-pc-bin", "systemd-sysv", "openssh-server", "sudo",
                "python3", "rsync", "iptables"):
        assert pkg in baseimage.PACKAGES


def test_grub_boots_root_by_label():
    assert f"root=LABEL={baseimage.LABEL}" in baseimage.GRUB_CFG
    assert "/dev/loop" not in baseimage.GRUB_CFG


def test_boot_code_keeps_the_partition_table(tmp_path):
    raw = tmp_path / "disk.raw"
    mbr = bytearray(1024 * 1024)
    mbr[446:510] = b"P" * 64  # partition table
    mbr[510:512] = b"\x55\xaa"
    raw.write_bytes(bytes(mbr))
    baseimage._write_boot_code(raw, b"B" * 512, b"C" * 2048)
    data = raw.read_bytes()
    assert data[:440] == b"B" * 440
    assert data[446:512] == b"P" * 64 + b"\x55\xaa"
    assert data[512:512 + 2048] == b"C" * 2048


def test_chroot_configuration_empties_machine_id_and_uses_mac_client_id():
    script = (baseimage.SCRIPTS / "base" / "configure.sh").read_text()
    assert ": > /etc/machine-id" in script
    assert "ClientIdentifier=mac" in script
    assert "Name=en* eth*" in script
