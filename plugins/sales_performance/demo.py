"""(being written) Deterministic demo data: ``formflow seed-demo``."""

from __future__ import annotations

import click


@click.command("seed-demo")
@click.option("--scale", default=1, show_default=True)
def seed_demo_command(scale: int) -> None:
    """Not written yet: creates nothing."""
    click.echo("seed-demo: no demo data yet")
