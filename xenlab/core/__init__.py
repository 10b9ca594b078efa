"""The shared core every stage uses: config, paths, files, processes, console,
state, the lifecycle, flavour data. Nothing here knows XenServer or DevStack."""
