"""What is asked for: the target table, the project's settings, the host, the cargo workspace."""
