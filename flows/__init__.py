"""flows room: the Prefect flows, the steps they order, and the `newswatch` command."""


def main() -> None:
    """The `newswatch` command (the console script's entry point).

    The CLI is imported here, not by the script: extraction workers (multiprocessing) re-run the
    imports of the program that started them, and with typer and rich in them every worker of a
    `newswatch run` spent about 0.24 s of CPU and 70 MB before its first page.
    """
    from flows.cli import main as cli_main

    cli_main()
