"""Reading what was built: ELF, PE and Mach-O parsers and their checks."""
