"""The lifecycle's stages, one module each (`core.lifecycle.SEQUENCE` lists them).

A stage provides `inputs(cfg)`, `present(cfg)` and `run(cfg, force)`; it
orchestrates and leaves the domain work to images/, machines/, xenserver/ and
devstack/.
"""
