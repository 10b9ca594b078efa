"""The XenServer/XCP-ng installer's answerfile (xenserver/host-installer doc/answerfile.txt).

Rendered from packer/http/answerfile.xml.j2 with XML escaping (the root password is
text, so `<&"'` must become entities; the installer reads text nodes only, so CDATA
would reach it as an empty password), into the build's HTTP directory only, mode
0600: it holds the password.
"""

from __future__ import annotations

from pathlib import Path

from ..core.files import write_file
from ..core.paths import PACKER_DIR

TEMPLATE_DIR = PACKER_DIR / "http"
TEMPLATE = "answerfile.xml.j2"
FILE_NAME = "answerfile.xml"  # the URL in every flavour's boot_command

# Fixed choices of the lab: thin (ext) storage so a 60 GB disk holds guests, the
# first disk, DHCP on the first NIC (the lab's address comes later, through xe).
DEFAULTS = {
    "sr_type": "ext",
    "primary_disk": "sda",
    "keymap": "us",
    "admin_interface": "eth0",
    # The name in the installer's own list (/opt/xensource/installer/timezones has
    # Etc/UTC, not UTC; xcp-ng/host-installer answerfile.py defaults to it too).
    "timezone": "Etc/UTC",
    "name_server": "",
    "ntp_server": "",
}


def _env():
    import jinja2  # only when rendering: a no-op lab never needs it

    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATE_DIR),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )


def render(cfg, flavour, **overrides: str) -> str:
    values = {
        **DEFAULTS,
        "hostname": f"{cfg.lab.name}-xenserver",
        "network_backend": flavour.network_backend,
        **overrides,
        "root_password": cfg.password.get_secret_value(),
    }
    return _env().get_template(TEMPLATE).render(**values)


def write(cfg, flavour, http_dir: Path) -> Path:
    path = http_dir / FILE_NAME
    write_file(path, render(cfg, flavour), secret=True)
    return path
