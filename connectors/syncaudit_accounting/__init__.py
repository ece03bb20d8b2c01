"""accounting_export: invoices that an accounting firm drops into a folder (Finvoice, CSV).

Modules: `plugin` (entry point, cheap to import), `settings`, `connector`, the readers `finvoice`
and `csvfile` (its column names matched by `headers`), `files` (streams and checksums), `model`,
`hetu` (identity codes), `retention`, `refs`, `notice` (the Art. 19 letter to the firm) and
`corpus` (generated exports for tests, benchmarks and the demo).
"""
