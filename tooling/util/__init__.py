"""Building blocks with no knowledge of targets: subprocesses, console, atomic files, caches,
digests, archives.
"""
