"""``moonpy serve``: an Open Traffic Generator (OTG) API server. snappi (or any OTG
client) configures flows between moonpy ports, starts and stops them and reads port and
flow metrics; flows run on the field engine with per-stream statistics (docs/otg.md)."""
