"""``python -m ifverify`` runs the CLI."""

from ifverify.cli import main

main()
