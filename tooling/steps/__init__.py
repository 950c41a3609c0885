"""The per-target pipeline: step records, compile, strip, verify, run, package, the matrix
runner.
"""
