"""Flask commands: users, seed, check, backup."""

import os
import secrets
import sqlite3
import sys
from contextlib import closing
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup, with_appcontext

from inventory.errors import DomainError


def _fail(error: DomainError) -> None:
    details = "; ".join(f"{field}: {problem}" for field, problem in (error.details or {}).items())
    click.echo(f"错误: {error.message}" + (f" ({details})" if details else ""), err=True)
    sys.exit(1)


# AppGroup runs every sub-command inside the application context.
users_group = AppGroup("users", help="管理用户与 API 令牌")


@users_group.command("create")
@click.argument("username")
@click.option("--role", required=True, help="admin | manager | dispatcher | keeper | auditor | viewer")
@click.option("--site", "sites", multiple=True, help="保管员/盘点员负责的站点编码，可重复")
@click.option("--password", default=None, help="不指定则生成随机密码并打印一次")
@click.option("--name", "display_name", default="", help="显示名称")
def create_user_command(username, role, sites, password, display_name):
    """Create a user."""
    from inventory.auth.access import COMMAND_LINE
    from inventory.auth.services import create_user

    generated = password is None
    password = password or secrets.token_urlsafe(12)
    try:
        create_user(username=username, role=role, password=password, site_codes=list(sites),
                    display_name=display_name, actor=COMMAND_LINE)
    except DomainError as error:
        _fail(error)
    click.echo(f"已创建用户 {username}（{role}）")
    if generated:
        click.echo(f"密码（只显示这一次）：{password}")


@users_group.command("token")
@click.argument("username")
@click.option("--days", default=365, show_default=True, type=click.IntRange(1, 3650))
def token_command(username, days):
    """Print a new API token for USERNAME (only the token, on stdout)."""
    from inventory.auth.services import find_user, issue_token

    user = find_user(username)
    if user is None or not user.active:
        click.echo(f"错误: 用户 {username} 不存在或已停用", err=True)
        sys.exit(1)
    token, _record = issue_token(user=user, days=days)
    click.echo(token)


@users_group.command("password")
@click.argument("username")
@click.option("--password", default=None, help="不指定则生成随机密码并打印一次")
def password_command(username, password):
    """Set a user's password; their sessions end."""
    from inventory.auth.access import COMMAND_LINE
    from inventory.auth.services import set_password

    generated = password is None
    password = password or secrets.token_urlsafe(12)
    try:
        set_password(username=username, password=password, actor=COMMAND_LINE)
    except DomainError as error:
        _fail(error)
    click.echo(f"已为 {username} 设置新密码" + (f"：{password}" if generated else ""))


seed_group = AppGroup("seed", help="载入演示数据")


@seed_group.command("demo")
@click.option("--if-empty", is_flag=True, help="数据库已有站点时什么也不做")
def seed_demo_command(if_empty):
    """Load 高台县: sites, agreements, the catalog and one demo user per role."""
    from inventory.seed.demo import database_is_empty, load_demo

    if if_empty and not database_is_empty():
        click.echo("数据库已有数据，跳过演示数据。")
        return
    try:
        logins = load_demo()
    except DomainError as error:
        _fail(error)
    path = current_app.config["INSTANCE_PATH"] + "/demo-logins.txt"
    lines = [f"{username:12} {role:11} {password}" for username, role, password in logins]
    # The demo passwords are secrets of this machine: readable by its owner only.
    with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w",
                   encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    click.echo("已载入高台县演示数据。演示账号（密码只在此显示，并保存在 instance/demo-logins.txt）：")
    click.echo("\n".join(lines))


@seed_group.command("norms")
def seed_norms_command():
    """Load the default stocking norms and relief kits (reference/norms-default.md §9.2) as
    editable data."""
    from inventory.seed.demo import load_defaults

    try:
        count, kits = load_defaults()
    except DomainError as error:
        _fail(error)
    click.echo(f"已载入 {count} 条默认储备定额。" if count else "已有储备定额，未作改动。")
    click.echo(f"已载入 {kits} 个默认救灾物资包。" if kits else "已有救灾物资包，未作改动。")


@seed_group.command("synthetic")
@click.option("--scale", type=click.Choice(["tiny", "county", "province"]), default="county",
              show_default=True)
def seed_synthetic_command(scale):
    """Fill an empty database with synthetic data for benchmarks (bulk, ledger-consistent)."""
    import time

    from inventory.seed.synthetic import load

    started = time.perf_counter()
    try:
        made = load(scale)
    except ValueError as error:
        click.echo(f"错误: {error}", err=True)
        sys.exit(1)
    made_text = "，".join(f"{name} {count:,}" for name, count in made.items())
    click.echo(f"已生成 {scale} 规模合成数据：{made_text}（{time.perf_counter() - started:.0f} 秒）")


check_group = AppGroup("check", help="检查数据一致性")


@check_group.command("ledger")
@click.option("--repair-report", is_flag=True,
              help="逐件列出不一致的库存件及其全部台账记录，供人工决定如何修复（只读，不做任何修改）")
def check_ledger_command(repair_report):
    """Check that every item's quantity is the sum of its movements and not negative, and that
    every movement's recorded balance is its item's running total in movement order (R13).

    With --repair-report, each item found is shown with every movement it has, its running
    total beside the balance the movement recorded; nothing is written (the repair is a person's
    decision, made through an adjustment).
    """
    from inventory.stock.queries import (
        ledger_drift,
        ledger_size,
        movements_of_items,
        running_total_breaks,
    )

    drift = ledger_drift()
    breaks, broken = running_total_breaks()
    if repair_report:
        drifting = {row["item_id"] for row in drift}
        # An item whose quantity adds up can still hold a movement that recorded a wrong balance.
        miscounted = list({row["item_id"]: row for row in breaks
                           if row["item_id"] not in drifting}.values())
        history = movements_of_items([row["item_id"] for row in (*drift, *miscounted)])
        for row in drift:
            click.echo(f"不一致 {row['label']}（站点 {row['site']}，物资 {row['material']}，"
                       f"批次 {row['lot'] or '无'}）：数量 {row['quantity']}，台账合计 {row['ledger']}，"
                       f"相差 {row['quantity'] - row['ledger']:+d}")
            _echo_movements(history[row["item_id"]])
        for row in miscounted:
            click.echo(f"结存不符 {row['label']}（站点 {row['site']}，物资 {row['material']}，"
                       f"批次 {row['lot'] or '无'}）：数量 {row['item_quantity']} 与台账合计相符，"
                       "但有台账记录的结存与累计不符")
            _echo_movements(history[row["item_id"]])
    else:
        for row in drift:
            click.echo(f"不一致 {row['label']} ({row['site']} {row['material']}): "
                       f"数量 {row['quantity']}，台账合计 {row['ledger']}", err=True)
        for row in breaks:
            click.echo(f"结存不符 {row['label']} ({row['site']} {row['material']}): "
                       f"台账记录 #{row['id']}（{row['kind']} {row['quantity']:+d}，"
                       f"单据 {row['document'] or '-'}）记录结存 {row['balance_after']}，"
                       f"累计 {row['running']}", err=True)
    if broken > len(breaks):
        click.echo(f"结存不符的台账记录共 {broken} 条，以上只列出最早的 {len(breaks)} 条"
                   f"{'所在的库存件' if repair_report else ''}。", err=True)
    if findings := len(drift) + broken:
        if repair_report:
            click.echo("以上为只读报告，未修改任何数据；核实后请通过调整更正。")
        click.echo(f"发现 {findings} 处不一致。", err=True)
        sys.exit(1)
    items, movements = ledger_size()
    click.echo(f"台账一致：{items} 件库存，{movements} 条台账记录。")


def _echo_movements(movements: list[dict]) -> None:
    """An item's movements, oldest first, each with its running total beside its recorded one."""
    if not movements:
        click.echo("  没有台账记录")
        return
    click.echo("  时间（UTC）                类型           数量      结存      累计  单据  用户")
    running = 0
    for movement in movements:
        running += movement["quantity"]
        mark = "" if movement["balance_after"] == running else "  ← 结存与累计不符"
        click.echo(f"  {movement['at'].isoformat(timespec='seconds'):<25}  "
                   f"{movement['kind']:<12} {movement['quantity']:>+6} "
                   f"{movement['balance_after']:>9} {running:>9}  {movement['document'] or '-'}  "
                   f"{movement['user'] or '-'}{mark}")


@click.command("backup")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@with_appcontext
def backup_command(path):
    """Copy the SQLite database to PATH while the app keeps serving (SQLite's online backup)."""
    from inventory.db import db

    url = db.engine.url
    if url.get_backend_name() != "sqlite":
        click.echo("错误: PostgreSQL 数据库请用 pg_dump 备份（pg_dump --format=custom），"
                   "用 pg_restore 恢复；见 README 的“Backups and restore”一节。", err=True)
        sys.exit(1)
    database = Path(url.database or ":memory:")
    if not database.is_file():  # connecting would create an empty one
        click.echo(f"错误: 数据库文件 {database} 不存在", err=True)
        sys.exit(1)
    # Written beside PATH and renamed into place, so PATH is never a half-written copy. The copy
    # is one read transaction of the live database: a consistent snapshot, writers carry on (WAL).
    partial = path.with_name(path.name + ".partial")
    partial.unlink(missing_ok=True)
    # The copy holds what the database holds (password hashes, ID numbers): the owner's alone.
    os.close(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    with closing(sqlite3.connect(database, timeout=60)) as source, \
            closing(sqlite3.connect(partial)) as copy:
        source.backup(copy)
        copy.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
        verdict = copy.execute("PRAGMA integrity_check").fetchone()[0]
    if verdict != "ok":
        partial.unlink()
        click.echo(f"错误: 备份副本完整性检查失败：{verdict}", err=True)
        sys.exit(1)
    partial.replace(path)
    click.echo(f"已备份到 {path}（{path.stat().st_size:,} 字节，完整性检查通过）。")


def register_cli(app) -> None:
    app.cli.add_command(users_group)
    app.cli.add_command(seed_group)
    app.cli.add_command(check_group)
    app.cli.add_command(backup_command)
