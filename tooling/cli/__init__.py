"""Entry points: the invoke tasks, the crossmatrix console script, the nox sessions."""
