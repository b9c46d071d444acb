"""The decision store: database, import, tables, migrations, feedback labels, erasure."""
