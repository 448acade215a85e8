from __future__ import annotations

from alembic import context

from migrations.schema import metadata

engine = context.config.attributes["engine"]


def include_object(obj, name, type_, reflected, compare_to):  # type: ignore[no-untyped-def]
    # PostGIS owns these; they are not ours to create or drop.
    return not (type_ == "table" and name in {"spatial_ref_sys"})


with engine.begin() as connection:
    context.configure(connection=connection, target_metadata=metadata,
                      include_object=include_object, compare_type=True)
    with context.begin_transaction():
        context.run_migrations()
