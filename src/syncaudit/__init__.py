"""syncaudit: keeps a small business's GDPR promises across the SaaS it uses.

Where things are (a newcomer finds each by its folder name):

    contract.py errors.py clock.py   the plugin API: all that connectors/ may import from the
    identity.py retry.py regions.py  core (with sysdeps.py, the OS packages the product needs,
    hetu.py bookkeeping*.py          and the one HETU check and voucher retention rule;
    mailbox.py ahead.py lean.py      capability MAILBOX: read a folder, send letters; an
                                     iterator read ahead in a thread; imports without
                                     pretty-printers nothing uses)
    config.py db.py models.py        settings, storage, the evidence chain (audit.py), the
    migrations/ audit.py context.py  Context every area works on (context.py)
    index/ sync.py                   the subject index (writer, look-ups) and the sync runner
    erasure/                         requests, worker, lifecycle, resurrection, legal holds
    rights/                          access, objection, retention rules
    reports/                         monthly compliance, transfers, record of processing
    requester/                       requests by mail: intake, identity check, letters
    app.py                           App(Context): the composition root front ends call
    service/                         the daemon: scheduler, erasure loop, periodic ticks, notify
    cli/ web/                        the command line and the owner's web console
    testing/                         fakes and the connector contract suite for tests

Layers, lowest first. A module imports only from its own layer or a lower one, and no import
(top-level, inside a function, or under TYPE_CHECKING) closes a cycle; tests/unit/test_layers.py
reads this table and checks both. Names are module prefixes under `syncaudit`; the longest
prefix wins (so `rights.settings`, read by config, is in layer 1 although rights/ is in 4).

  L0  plugin API      contract settings_reader errors clock identity retry regions sysdeps
  L0  plugin API      hetu bookkeeping bookkeeping_notice mailbox ahead lean
  L1  storage         config db models migrations registry audit _audit_range context logging
  L1  storage         rights.settings reports.settings requester.settings
  L2  index and sync  index sync
  L3  erasure         erasure
  L4  rights          rights
  L5  reports         reports requester
  L6  composition     app
  L7  daemon          service starter demo testing
  L8  front ends      cli web
  L1  storage         web.settings

Connectors (connectors/) import layer 0 only, and never one another.
"""

from syncaudit.lean import without_unused_extras as _lean

_lean()  # before any module imports structlog or httpx; see syncaudit.lean
