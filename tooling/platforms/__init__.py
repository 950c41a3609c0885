"""How each operating system links, strips, runs, verifies, names and packages its artifacts."""
