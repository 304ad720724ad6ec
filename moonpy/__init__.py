"""moonpy: MoonGen as a Python package."""
