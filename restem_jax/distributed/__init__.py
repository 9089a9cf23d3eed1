"""Multi-host process roles: which process writes, owns an item, waits at a barrier."""
