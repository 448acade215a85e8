from __future__ import annotations

from alembic import context

from migrations.schema import include_object, metadata

engine = context.config.attributes["engine"]


with engine.begin() as connection:
    context.configure(connection=connection, target_metadata=metadata,
                      include_object=include_object, compare_type=True)
    with context.begin_transaction():
        context.run_migrations()
