"""procountor: sales invoices and the business-partner register from Procountor's REST API.

Modules: `plugin` (entry point, cheap to import), `settings`, `connector` (the contract),
`transport` (session, token, pace, errors), `pull` (rounds and pages) with `cursor`, `records`
(what the index sees, scrubbed), `notice` (the Art. 19 letter for register entries),
`simulator` (the API on loopback, for tests, benchmarks and the demo) and `demo`.
"""
