"""`python -m supportcue.cli`."""

from supportcue.cli.app import main

main()
