"""Data-subject rights beyond erasure: access export, objection to marketing, retention rules.

Entry points for other areas:
    rights.access.access_export(app, email, out_dir, lang=...)   right of access (Art. 15/20)
    rights.objection.object_to_marketing(app, email)              objection (Art. 21)
    rights.objection.check_after_sync(app)                        call after every App.sync
    rights.retention.inactive_subjects(app, years=None)           for review / the report
    rights.retention.expired_summaries(app)                       coaching summaries past limit
    rights.retention.evaluate(app)                                the daemon's retention step
"""

from __future__ import annotations
