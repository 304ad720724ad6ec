"""The run console: the live dashboard, the end-of-run summary and result files."""
