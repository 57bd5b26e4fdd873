"""Edit the database behind Steward's back, as someone with access to it would (SQLite or PostgreSQL)."""

from sqlalchemy import create_engine, text


def tamper(url: str, *statements: str, **params) -> None:
    engine = create_engine(url)
    with engine.begin() as connection:
        for statement in statements:
            connection.execute(text(statement), params)
    engine.dispose()
