#!/usr/bin/env python3
"""Reads what `protoland table` prints with real parsers, for the CLI's
integration test (crates/cli/tests/integration/table.rs).

Usage:
  check.py ddl FILE...   parse each DDL with sqlglot in each dialect that has
                         it (hive, athena); print the columns, partitions,
                         location and table properties each one read
  check.py glue FILE...  validate each TableInput JSON with botocore's own
                         validator against the Glue service model's
                         CreateTable input shape; print the problems

Prints a JSON list, one entry per FILE (one Python start for them all).
"""

import functools
import json
import sys

sys.dont_write_bytecode = True


def hive_type(data_type):
    """A parsed type written back as the Glue catalog spells it
    (`struct<url:string,`with space`:bigint>`), from sqlglot's tree."""
    from sqlglot import exp

    kind, inner = data_type.this, data_type.expressions
    if kind == exp.DataType.Type.STRUCT:
        fields = []
        for field in inner:
            name = field.this
            shown = '`%s`' % name.name.replace('`', '``') if name.quoted else name.name
            fields.append('%s:%s' % (shown, hive_type(field.args['kind'])))
        return 'struct<%s>' % ','.join(fields)
    if kind == exp.DataType.Type.ARRAY:
        return 'array<%s>' % hive_type(inner[0])
    if kind == exp.DataType.Type.MAP:
        return 'map<%s,%s>' % (hive_type(inner[0]), hive_type(inner[1]))
    return data_type.sql(dialect='hive').lower().replace(' ', '')


def read_ddl(text, dialect):
    import sqlglot
    from sqlglot import exp

    statement = sqlglot.parse_one(text, read=dialect)
    assert isinstance(statement, exp.Create), type(statement)
    schema = statement.this

    def columns(defs):
        return [[d.this.name, hive_type(d.args['kind'])] for d in defs if isinstance(d, exp.ColumnDef)]

    read = {'table': schema.this.name, 'columns': columns(schema.expressions),
            'partitions': [], 'location': None, 'properties': {}, 'serde': None}
    for prop in statement.args['properties'].expressions:
        if isinstance(prop, exp.PartitionedByProperty):
            read['partitions'] = columns(prop.this.expressions)
        elif isinstance(prop, exp.LocationProperty):
            read['location'] = prop.this.name
        elif isinstance(prop, exp.RowFormatSerdeProperty):
            read['serde'] = prop.this.name
        elif isinstance(prop, exp.Property) and type(prop) is exp.Property:
            read['properties'][prop.name] = prop.args['value'].name
    return read


def ddl(path):
    import sqlglot.dialects

    text = open(path).read()
    known = {d.value for d in sqlglot.dialects.Dialects}
    return {d: read_ddl(text, d) for d in ('hive', 'athena') if d in known}


def glue(path):
    import botocore.validate

    table_input = json.load(open(path))
    operation = create_table()
    report = botocore.validate.ParamValidator().validate(
        {'DatabaseName': 'landing', 'TableInput': table_input}, operation.input_shape)
    problems = report.generate_report().splitlines() if report.has_errors() else []
    return {'problems': problems}


@functools.lru_cache(maxsize=None)
def create_table():
    """Glue's CreateTable operation, from the service model botocore ships."""
    import botocore.loaders
    import botocore.model

    model = botocore.loaders.Loader().load_service_model('glue', 'service-2')
    return botocore.model.ServiceModel(model, 'glue').operation_model('CreateTable')


if __name__ == '__main__':
    if len(sys.argv) < 3 or sys.argv[1] not in ('ddl', 'glue'):
        sys.exit(__doc__)
    check = {'ddl': ddl, 'glue': glue}[sys.argv[1]]
    print(json.dumps([check(path) for path in sys.argv[2:]]))
