"""Python extension modules: import checks, foreign Pythons, the <module>-bin layout and its
loader.
"""
