"""`python -m supportcue.cli`."""

from supportcue.cli.app import main

if __name__ == "__main__":  # not again in a process that multiprocessing spawns (`serve --workers`)
    main()
