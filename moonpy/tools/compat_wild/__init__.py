"""`make compat-wild WILD=path`: third-party MoonGen/libmoon scripts from public
repositories (research artefacts, NFV benchmarks, RFC 2544 tools, probes), run
unchanged against moonpy on its default virtual cable, with a table.

Nothing of those repositories is stored here: WILD is a folder holding the user's own
checkouts as ``WILD/OWNER/NAME/`` (``git clone https://github.com/OWNER/NAME``), and
each entry (cases.py) names the commit it was checked against. Some scripts load modules of
MoonGen's RFC 2544 suite (``rfc2544/utils``); they need ``--moongen`` (``MOONGEN=``).

The entries are in ``cases.py``, written with ``vocabulary.py``; ``python -m
moonpy.tools.compat_wild`` (``__main__.py``) runs them and prints the table.
"""
