"""``flask --app webapp …`` commands."""

from __future__ import annotations

import click
from flask import Flask, current_app

from .accounts import AccountError, create_user
from .extensions import db
from .migrate import upgrade


def register_commands(app: Flask) -> None:
    """Attach the CLI commands."""

    @app.cli.command("create-user")
    @click.option("--email", required=True)
    @click.option("--password", required=True)
    @click.option("--vendor", required=True, help="vendor name; created if it does not exist")
    @click.option("--update", is_flag=True, help="reset the password if the user exists")
    def create_user_command(email: str, password: str, vendor: str, update: bool) -> None:
        """Create a user in a vendor."""
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
            except AccountError as exc:
                raise click.ClickException(str(exc)) from None
            session.commit()
            click.echo(f"user {user.email} (id {user.id}) in vendor {vendor!r}")

    @app.cli.command("db-upgrade")
    def db_upgrade_command() -> None:
        """Apply the Alembic migrations to DATABASE_URL."""
        upgrade(current_app.config["SQLALCHEMY_URL"])
        click.echo("database is at head")
