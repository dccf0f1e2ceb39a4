#!/usr/bin/env python3
"""Queries landing prefixes with Spark (local mode) through the tables that
`protoland table` defines, and computes the same query's answer from
Google's json_format output of the raw messages, for the CLI's integration
test (crates/cli/tests/integration/table.rs).

Usage: spark_query.py CONFIG

CONFIG is a JSON file: {"proto_dir", "proto", "message": the schema (PROTO
under the import root PROTO_DIR) and message type; "raws": [{"framing",
"path"}], each a decompressed raw object and its framing (single, varint or
fixed32); "tables": [{"name", "format", "ddl", "landing"}], each a landing
directory of ndjson (plain, gzip'd or zstd-compressed) or parquet objects
and the DDL file `protoland table` printed for it}; "texts": [{"path",
"plain"}], each a compressed NDJSON file and the same lines uncompressed;
"parquets": [path], Parquet files to read whole.
Prints {"spark": {name: rows}, "expected": {format: rows}, "texts": {path:
{"lines", "differ"}}, "parquets": {path: rows}} as JSON: one Spark session
queries every table, reads every text, `lines` counting its lines and
`differ` those not in the plain file or missing from it (multiset
difference, both ways), and reads every Parquet file with its own schema
(each row an object of column names, in the file's order).

Spark reads the files with the DDL's own column types (for NDJSON in
FAILFAST mode: a value that does not fit its column's type fails the query
rather than becoming null), so the answer matches only if the types fit
what was written.
"""

import json
import os
import subprocess
import sys
import tempfile

sys.dont_write_bytecode = True

QUERY = """
    SELECT type,
           count(*) AS events,
           count(DISTINCT userId) AS users,
           sum(CASE WHEN items IS NULL THEN 0 ELSE size(items) END) AS items,
           sum(aggregate(coalesce(items, array()), 0L,
                         (total, item) -> total + coalesce(item.quantity, 0))) AS quantity,
           max(page.timeOnPageMs) AS slowest,
           max(`value`) AS top_value,
           count(try_element_at(attributes, 'utm_source')) AS tagged
    FROM landing GROUP BY type ORDER BY type
"""


def messages(proto_dir, proto, message, raws):
    """Every message of the raw objects, parsed by Google's protobuf."""
    from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, 'schema.binpb')
        subprocess.run([sys.executable, '-m', 'grpc_tools.protoc', '-I', proto_dir,
                        '--include_imports', '--descriptor_set_out=' + out, proto], check=True)
        files = descriptor_pb2.FileDescriptorSet.FromString(open(out, 'rb').read())
    pool = descriptor_pool.DescriptorPool()
    for f in files.file:
        pool.Add(f)
    cls = message_factory.GetMessageClass(pool.FindMessageTypeByName(message))
    return [cls.FromString(frame)
            for r in raws for frame in frames(open(r['path'], 'rb').read(), r['framing'])]


def expected(msgs, fmt):
    """The query's answer from json_format's output of `msgs` (JSON names,
    enums by name: the NDJSON defaults), row by row in Python. For parquet,
    fields without presence are printed at their defaults too: a Parquet
    column holds them (docs/parquet.md), where NDJSON leaves them out
    (null)."""
    from google.protobuf import json_format

    groups = {}
    for msg in msgs:
        row = json_format.MessageToDict(
            msg, always_print_fields_with_no_presence=fmt == 'parquet')
        g = groups.setdefault(row.get('type'), {
            'events': 0, 'users': set(), 'items': 0, 'quantity': 0,
            'slowest': None, 'top_value': None, 'tagged': 0})
        g['events'] += 1
        if 'userId' in row:
            g['users'].add(row['userId'])
        items = row.get('items', [])
        g['items'] += len(items)
        g['quantity'] += sum(item.get('quantity', 0) for item in items)
        for key, value in (('slowest', row.get('page', {}).get('timeOnPageMs')),
                           ('top_value', row.get('value'))):
            if value is not None and (g[key] is None or value > g[key]):
                g[key] = value
        g['tagged'] += 'utm_source' in row.get('attributes', {})
    return [dict(type=t, events=g['events'], users=len(g['users']), items=g['items'],
                 quantity=g['quantity'], slowest=g['slowest'], top_value=g['top_value'],
                 tagged=g['tagged'])
            for t, g in sorted(groups.items(), key=lambda kv: (kv[0] is not None, kv[0] or ''))]


def frames(data, framing):
    if framing == 'single':
        yield data
        return
    at = 0
    while at < len(data):
        if framing == 'fixed32':
            size, at = int.from_bytes(data[at:at + 4], 'big'), at + 4
        else:
            size = shift = 0
            while True:
                byte, at = data[at], at + 1
                size |= (byte & 0x7F) << shift
                shift += 7
                if byte < 0x80:
                    break
        yield data[at:at + size]
        at += size


def spark_rows(tables, texts, parquets):
    """({name: the query's rows over that table}, {path: its lines and how
    many differ from the plain file's}, {path: the Parquet file's rows}),
    in one Spark session."""
    import sqlglot
    from pyspark.sql import SparkSession
    from sqlglot import exp

    with tempfile.TemporaryDirectory() as warehouse:
        spark = (SparkSession.builder.master('local[1]').appName('protoland-table')
                 .config('spark.ui.enabled', 'false')
                 .config('spark.ui.showConsoleProgress', 'false')
                 .config('spark.sql.shuffle.partitions', '1')
                 .config('spark.sql.warehouse.dir', warehouse)
                 .config('spark.driver.host', '127.0.0.1')
                 .getOrCreate())
        try:
            spark.sparkContext.setLogLevel('ERROR')
            answers = {}
            for table in tables:
                fmt = table['format']
                create = sqlglot.parse_one(open(table['ddl']).read(), read='hive')
                columns = ', '.join(d.sql(dialect='spark') for d in create.this.expressions
                                    if isinstance(d, exp.ColumnDef))
                options = "OPTIONS (mode 'FAILFAST')" if fmt == 'ndjson' else ''
                using = {'ndjson': 'json', 'parquet': 'parquet'}[fmt]
                spark.sql('DROP TABLE IF EXISTS landing')
                spark.sql("CREATE TABLE landing (%s) USING %s %s LOCATION '%s'"
                          % (columns, using, options, table['landing']))
                answers[table['name']] = [row.asDict() for row in spark.sql(QUERY).collect()]
            read = {}
            for text in texts:
                # Hadoop's codec, chosen by the .gz extension, as for the tables.
                lines, plain = spark.read.text(text['path']), spark.read.text(text['plain'])
                read[text['path']] = {
                    'lines': lines.count(),
                    'differ': lines.exceptAll(plain).count() + plain.exceptAll(lines).count(),
                }
            # One file, smaller than a split: one task reads it in order.
            files = {path: [row.asDict(recursive=True) for row in spark.read.parquet(path).collect()]
                     for path in parquets}
            return answers, read, files
        finally:
            spark.stop()


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    config = json.load(open(sys.argv[1]))
    msgs = messages(config['proto_dir'], config['proto'], config['message'], config['raws'])
    formats = sorted({t['format'] for t in config['tables']})
    answers, texts, files = spark_rows(config['tables'], config.get('texts', []),
                                       config.get('parquets', []))
    print(json.dumps({'spark': answers, 'texts': texts, 'parquets': files,
                      'expected': {fmt: expected(msgs, fmt) for fmt in formats}}))


if __name__ == '__main__':
    main()
