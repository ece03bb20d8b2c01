"""accounting_export: invoices that an accounting firm drops into a folder (Finvoice, CSV).

Modules: `plugin` (entry point, cheap to import), `settings`, `connector`, the readers `finvoice`
and `csvfile` (its column names matched by `headers`), `files` (streams and checksums), `model`,
`refs` and `corpus` (generated exports for tests, benchmarks and the demo). The identity-code
check, the voucher retention rule and the Art. 19 letter to the firm are shared with other
bookkeeping connectors, so they live in the core: `syncaudit.hetu`, `syncaudit.bookkeeping`,
`syncaudit.bookkeeping_notice`.
"""
