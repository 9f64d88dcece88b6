"""``python -m quarry`` runs the CLI."""

from quarry.cli import main

main()
