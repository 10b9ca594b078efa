"""`invoke sim`: the XenAPI simulator on loopback, for developing XenAPI code with no host."""

from __future__ import annotations

from pathlib import Path

from ..core import console
from ..errors import ConfigError, HostError


def checked(port: str | int, pool_size: str | int) -> tuple[int, int]:
    """The options, in the simulator's own ranges (sim/options.py): checked before the
    config is read, which may generate the lab's password."""
    from ..sim import options

    try:
        return options.port(port), options.pool_size(pool_size)
    except ValueError as exc:
        raise ConfigError(f"sim: {exc}") from None


def serve(cfg, port: int = 8080, pool_size: int = 1, plugin_dir: str | None = None) -> None:
    from ..sim.api import Api
    from ..sim.server import BANNER, make_server, serve_until_stopped

    plugins = Path(plugin_dir) if plugin_dir else cfg.paths.sim_plugins
    where = f"--plugin-dir {plugin_dir}" if plugin_dir else f"plugin directory {plugins}"
    try:
        plugins.mkdir(parents=True, exist_ok=True)
    except FileExistsError:  # a file, a device, a dangling link
        raise ConfigError(f"sim: {where}: not a directory") from None
    except (OSError, ValueError) as exc:
        raise ConfigError(f"sim: {where}: {getattr(exc, 'strerror', None) or exc}") from None
    api = Api(cfg.credentials.xenapi_user, cfg.password.get_secret_value(), plugins, "127.0.0.1", pool_size)
    try:
        server = make_server(api, "127.0.0.1", port)
    except OSError as exc:
        raise HostError(f"sim: cannot listen on 127.0.0.1:{port}: {exc.strerror}") from None
    console.say(f"==> {BANNER.strip()} on http://127.0.0.1:{server.server_address[1]}/")
    console.say(f"    user {cfg.credentials.xenapi_user}, password from {cfg.password_source}; "
                f"plugins in {plugins}; {pool_size} host(s). Ctrl-C stops it.")
    serve_until_stopped(server)
    console.say(f"<== sim: stopped after {api.total_calls()} XenAPI calls")
