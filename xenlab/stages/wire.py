"""`wire`: connect DevStack to a XenServer (the lab's, or `--host` on the network).

The only writer of local.conf, nova.conf and the host facts. Order matters for
"nothing half-written": everything that can be judged locally (the rendered files
and their restriction check) comes first, then XenAPI (log in, facts, refuse
unsupported hosts), then dom0 over SSH, then Nova's own plugin check through
XenAPI, and only then are local.conf, nova.conf and the facts written.
"""

from __future__ import annotations

import json

from ..core import console
from ..core.files import digest, keyed_digest, write_file, write_json
from ..devstack import conf as devstack, restrictions
from ..errors import ChecksFailed, HostError
from ..machines import labnet
from ..xenserver import dom0, osxenapi, xapi


def inputs(cfg) -> str:
    public = cfg.public_dict()
    return digest(
        json.dumps({"devstack": public["devstack"], "wire": public["wire"], "host": devstack.xenapi_host(cfg),
                    "user": cfg.credentials.xenapi_user}, sort_keys=True),
        osxenapi.pinned(cfg.devstack.os_xenapi_version),
        # The password too, keyed (state.json is world-readable): a new one rewires.
        keyed_digest(cfg.paths.digest_key, "password", cfg.password.get_secret_value()),
    )


def _renders(cfg) -> dict:
    return {cfg.paths.local_conf: devstack.render_local_conf(cfg), cfg.paths.nova_conf: devstack.render_nova_conf(cfg)}


def present(cfg) -> bool:
    p = cfg.paths
    return all(f.is_file() for f in (p.local_conf, p.nova_conf, p.facts, p.domzero_key, p.domzero_pub))


def facts_changed(cfg) -> bool:
    """Does the host answer with other facts than wire recorded (a restored snapshot, a rebuilt host)?"""
    try:
        recorded = json.loads(cfg.paths.facts.read_text())
    except (OSError, ValueError):
        return True
    with labnet.xenapi(cfg) as reach:
        session = xapi.login(reach.url, cfg.credentials.xenapi_user, cfg.password.get_secret_value(),
                             timeout=cfg.wire.timeout_s, attempts=cfg.wire.attempts,
                             named=devstack.connection_url(cfg) + reach.via)
        try:
            return xapi.facts(session, devstack.connection_url(cfg)).public() != recorded
        finally:
            xapi.logout(session)


def run(cfg, force: bool = False) -> None:
    renders = _renders(cfg)
    findings = [f for path, text in renders.items() for f in restrictions.check_text(path.name, text)]
    if findings:  # a bug in our renderers, never the user's input: stop before any change
        raise ChecksFailed(f"rendered files break independent compute: {findings[0].line()}")

    with labnet.xenapi(cfg) as reach:
        facts, report = _wire_host(cfg, reach)

    written = [path.name for path, text in renders.items() if write_file(path, text, secret=True)]
    written += [cfg.paths.facts.name] if write_json(cfg.paths.facts, facts.public()) else []
    if written:
        console.say(f"    wrote {', '.join(written)} in {cfg.paths.lab_dir} (0600 where a secret is held)")
    elif not report.changed:
        console.say("    wire: nothing changed (dom0 and DevStack files already as wanted)")


def _wire_host(cfg, reach: labnet.Reach) -> tuple[xapi.HostFacts, dom0.Report]:
    """XenAPI's facts, dom0 prepared, Nova's plugin check: everything that talks to the host."""
    host = devstack.xenapi_host(cfg)
    url = devstack.connection_url(cfg)  # what the lab's machines use, and what the facts record
    password = cfg.password.get_secret_value()
    log = cfg.paths.log("wire")
    console.say(f"    XenAPI: logging in to {url}{reach.via} as {cfg.credentials.xenapi_user}")
    session = xapi.login(reach.url, cfg.credentials.xenapi_user, password,
                         timeout=cfg.wire.timeout_s, attempts=cfg.wire.attempts, named=url + reach.via)
    try:
        facts = xapi.facts(session, url)
        console.say(f"    host: {facts.brand} {facts.product_version} (platform {facts.platform_version}, "
                    f"API {facts.api_version}), uuid {facts.host_uuid}, management IP {facts.management_ip}, "
                    f"default SR {facts.default_sr_type}")
        xapi.check_supported(facts)

        files = osxenapi.plugins(osxenapi.sdist(cfg.devstack.os_xenapi_version, log))
        public = dom0.key_pair(cfg.paths, f"xenlab-domzero@{cfg.lab.name}", log).read_text()
        report = dom0.prepare(host, cfg.wire.ssh_port, password, cfg.paths, files, public,
                              facts.default_sr_uuid, cfg.wire.timeout_s, cfg.wire.attempts, log,
                              ssh_options=labnet.ssh_options(cfg))
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
    return facts, report
