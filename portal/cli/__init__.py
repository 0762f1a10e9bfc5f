"""`flask portal ...`: the command line (commands.py) and the demo and benchmark seeding it runs (demo.py)."""
from portal.cli.commands import register  # noqa: F401 - re-export
