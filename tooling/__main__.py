"""``python -m tooling``: the ``crossmatrix`` console script, for an environment without its
script on PATH (``python -m tooling --version``, ``python -m tooling plan``)."""

from tooling.cli.main import main

if __name__ == "__main__":
    main()
