"""``recall user``: staff accounts."""

from __future__ import annotations

import sys

import click
from rich.text import Text

from library.models import Role
from web.cli_base import current_services, err, fail


@click.group()
def user() -> None:
    """Staff accounts: who may sign in to upload, edit and see private recordings."""


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            fail("no password on standard input")
        return password
    value: str = click.prompt(
        "Password", hide_input=True, confirmation_prompt="Repeat it", err=True
    )
    return value


@user.command("add")
@click.argument("email")
@click.option(
    "--role", type=click.Choice([r.value for r in Role]), required=True, help="staff or admin."
)
@click.option(
    "--password-stdin", is_flag=True, help="Read the password from the first line of stdin."
)
def user_add(email: str, role: str, password_stdin: bool) -> None:
    """Add an account. Prints its API token (for scripts), which is shown only this once."""
    users = current_services().users
    password = _read_password(password_stdin)
    account, token = users.add(email, password, Role(role))
    err.print(Text(f"Added {account.email} ({account.role.value}). API token:"))
    click.echo(token)


@user.command("list")
def user_list() -> None:
    """List the accounts."""
    for account in current_services().users.all():
        click.echo(f"{account.email}\t{account.role.value}\t{account.created_at:%Y-%m-%d}")


@user.command("password")
@click.argument("email")
@click.option("--password-stdin", is_flag=True, help="Read it from the first line of stdin.")
def user_password(email: str, password_stdin: bool) -> None:
    """Set a new password for an account; it is signed out everywhere (its API token stays)."""
    users = current_services().users
    users.set_password(email, _read_password(password_stdin))
    err.print(Text(f"Password changed for {email}."))


@user.command("token")
@click.argument("email")
def user_token(email: str) -> None:
    """Make a new API token for an account (the old one stops working) and print it."""
    click.echo(current_services().users.new_token(email))


@user.command("remove")
@click.argument("email")
def user_remove(email: str) -> None:
    """Remove an account; its sessions and token stop working."""
    current_services().users.remove(email)
    err.print(Text(f"Removed {email}."))
