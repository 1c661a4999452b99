"""The bodies of the ``cd2`` commands, one module each; ``extract.cli`` parses and dispatches here.

Each module's ``main(args)`` takes the parsed arguments and returns the exit code; the work itself
belongs to the modules named in each (``extract.run``, ``extract.status``, ``extract.sync``, ...).
"""
