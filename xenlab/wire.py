"""`wire`: connect DevStack to a XenServer (the lab's, or `--host` on the network).

Order matters for "nothing half-written": everything that can be judged locally
(the rendered files and their restriction check) comes first, then XenAPI (log in,
facts, refuse unsupported hosts), then dom0 over SSH, then Nova's own plugin
check through XenAPI, and only then are local.conf and nova.conf written.
"""

from __future__ import annotations

import json

from . import console, devstack, dom0, plan, restrictions, xapi
from .errors import ChecksFailed, HostError
from .state import digest

LOCAL_CONF = "devstack/local.conf"
NOVA_CONF = "devstack/nova.conf"
FACTS = "wire/facts.json"


def _log(cfg):
    return cfg.lab_dir / "logs" / "wire.log"


def inputs(cfg) -> str:
    # No secret here (state.json is world-readable): present() compares the
    # rendered files instead, which catches a changed password.
    return digest(json.dumps({
        "devstack": cfg.public_dict()["devstack"],
        "wire": cfg.public_dict()["wire"],
        "host": devstack.xenapi_host(cfg),
        "user": cfg.credentials.xenapi_user,
    }, sort_keys=True))


def _renders(cfg) -> dict[str, str]:
    return {LOCAL_CONF: devstack.render_local_conf(cfg), NOVA_CONF: devstack.render_nova_conf(cfg)}


def present(cfg) -> bool:
    paths = {rel: cfg.lab_dir / rel for rel in (LOCAL_CONF, NOVA_CONF, FACTS)}
    if not all(p.is_file() for p in paths.values()):
        return False
    return all(paths[rel].read_text() == text for rel, text in _renders(cfg).items())


def run(cfg, force: bool = False) -> None:
    renders = _renders(cfg)
    findings = [f for rel, text in renders.items() for f in restrictions.check_text(rel, text)]
    if findings:  # a bug in our renderers, never the user's input: stop before any change
        raise ChecksFailed(f"rendered files break independent compute: {findings[0].line()}")

    host = devstack.xenapi_host(cfg)
    url = devstack.connection_url(cfg)
    password = cfg.password.get_secret_value()
    log = _log(cfg)
    console.say(f"    XenAPI: logging in to {url} as {cfg.credentials.xenapi_user}")
    session = xapi.login(url, cfg.credentials.xenapi_user, password,
                         timeout=cfg.wire.timeout_s, attempts=cfg.wire.attempts)
    try:
        facts = xapi.facts(session, url)
        console.say(f"    host: {facts.brand} {facts.product_version} (platform {facts.platform_version}, "
                    f"API {facts.api_version}), uuid {facts.host_uuid}, management IP {facts.management_ip}, "
                    f"default SR {facts.default_sr_type}")
        xapi.check_supported(facts)

        files = dom0.plugins(dom0.sdist(cfg.devstack.os_xenapi_version, log))
        ssh_dir = cfg.lab_dir / "ssh"
        public = dom0.key_pair(ssh_dir, f"xenlab-domzero@{cfg.lab.name}", log).read_text()
        report = dom0.prepare(host, cfg.wire.ssh_port, password, ssh_dir, files, public,
                              facts.default_sr_uuid, cfg.wire.timeout_s, cfg.wire.attempts, log)
        for line in report.changed:
            console.say(f"    dom0: changed: {line}")
        if not report.changed:
            console.say(f"    dom0: nothing to change ({len(report.unchanged)} steps already done)")

        version = xapi.plugin_version(session, facts)
        if not xapi.compatible(xapi.PLUGIN_API, version):
            raise HostError(f"dom0 plugins report version {version}; Nova's client needs {xapi.PLUGIN_API}")
        console.say(f"    dom0 plugins: version {version} answers through XenAPI, as Nova checks at start-up")
    finally:
        xapi.logout(session)

    written = [rel for rel, text in renders.items()
               if plan.write_file(cfg.lab_dir / rel, text.encode(), secret=True)]
    facts_text = json.dumps(facts.public(), indent=2, sort_keys=True) + "\n"
    written += [FACTS] if plan.write_file(cfg.lab_dir / FACTS, facts_text.encode(), secret=False) else []
    if written:
        console.say(f"    wrote {', '.join(written)} in {cfg.lab_dir} (0600 where a secret is held)")
    elif not report.changed:
        console.say("    wire: nothing changed (dom0 and DevStack files already as wanted)")
