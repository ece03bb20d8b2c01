"""The requester's side: data-subject requests taken from a mailbox, a proportionate identity
check, and the letters that answer the person (GDPR Art. 12).

    settings.py  [intake] (layer 1, read by config)
    classify.py  which right a message asks for, in fi / sv / en (keywords; nothing kept)
    store.py     pending requests: create, join duplicates, find, close (purges the address)
    verify.py    the verification mail's token; a reply carrying it verifies
    letters.py   templates/ (Jinja2, fi/sv/en), sending each letter exactly once, as evidence
    intake.py    one intake run: read the folder's delta, make requests, verify, send, complete
    review.py    the operator's approve / reject / extend / verify, and the pending listing

Layer 5 (beside reports): approving starts the erasure (3), access and objection (4) machinery.
"""

from __future__ import annotations
