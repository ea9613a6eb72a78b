"""``python -m spacekit``: the command line."""

from ._cli import main

main()
