"""`python -m supportcue`: the `supportcue` command."""

from supportcue.cli.app import main

if __name__ == "__main__":  # not again in a process that multiprocessing spawns (`serve --workers`)
    main()
