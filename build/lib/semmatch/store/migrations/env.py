"""Alembic environment for the semmatch decision store.

`semmatch.store.database.Store` runs `upgrade head` itself and hands its open connection over in
`config.attributes["connection"]`; no alembic.ini is needed. For the alembic command line, set the URL with
`-x url=...`, the `sqlalchemy.url` option or the environment variable SEMMATCH_DATABASE_URL.
"""

from __future__ import annotations

import os

from alembic import context
from sqlalchemy import create_engine

config = context.config


def run_migrations(connection) -> None:
    context.configure(connection=connection, target_metadata=None, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    run_migrations(connection)
else:
    url = (context.get_x_argument(as_dictionary=True).get("url") or config.get_main_option("sqlalchemy.url")
           or os.environ.get("SEMMATCH_DATABASE_URL") or "sqlite:///semmatch.db")
    engine = create_engine(url)
    try:
        with engine.connect() as own_connection:
            run_migrations(own_connection)
            own_connection.commit()
    finally:
        engine.dispose()
