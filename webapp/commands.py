"""``flask --app webapp …`` commands."""

from __future__ import annotations

import click
from flask import Flask, current_app

from .accounts import AccountError, create_user, set_desks
from .extensions import db
from .migrate import upgrade


def register_commands(app: Flask) -> None:
    """Attach the CLI commands."""

    @app.cli.command("create-user")
    @click.option("--email", required=True)
    @click.option("--password", required=True)
    @click.option("--vendor", required=True, help="vendor name; created if it does not exist")
    @click.option("--update", is_flag=True, help="reset the password if the user exists")
    @click.option(
        "--desk",
        "desks",
        multiple=True,
        help="a desk (approval queue) the user answers for, e.g. ops-leads; repeatable",
    )
    def create_user_command(
        email: str, password: str, vendor: str, update: bool, desks: tuple[str, ...]
    ) -> None:
        """Create a user in a vendor (with desk roles)."""
        with db.new_session() as session:
            try:
                user = create_user(
                    session,
                    email=email,
                    password=password,
                    vendor=vendor,
                    update_existing=update,
                    hash_method=current_app.config["PASSWORD_HASH_METHOD"],
                )
                held = set_desks(session, user, desks) if desks else []
            except AccountError as exc:
                raise click.ClickException(str(exc)) from None
            session.commit()
            roles = f", desks {', '.join(held)}" if held else ""
            click.echo(f"user {user.email} (id {user.id}) in vendor {vendor!r}{roles}")

    @app.cli.command("db-upgrade")
    def db_upgrade_command() -> None:
        """Apply the Alembic migrations to DATABASE_URL."""
        upgrade(current_app.config["SQLALCHEMY_URL"])
        click.echo("database is at head")
