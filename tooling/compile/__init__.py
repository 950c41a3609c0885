"""What cargo is given: linkers, the build-script environment, cargo's messages,
.cargo/config.toml.
"""
