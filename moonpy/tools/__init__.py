"""Developer tools that ship with the package: the benchmark and the compatibility harnesses
(their scripts travel as package data in moonpy/tools/_data)."""
