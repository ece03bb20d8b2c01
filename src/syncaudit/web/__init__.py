"""The owner's web console: sign-in, overview, find a person, requests, reports, exports.

Starlette, uvicorn, argon2 and Jinja2 load only when the console is built (`syncaudit.web.app`);
this package's `__init__` and `settings` stay cheap, because the configuration imports them.
"""
