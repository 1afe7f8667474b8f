"""`python -m musegen_cli` runs the same command as `musegen`."""

from musegen_cli.cli.app import main

if __name__ == "__main__":
    main()
