"""The operations: one module per kind of request, each run by the one executor.

    preflight   one read before any write (the token can read; the API is there)
    register    POST a would_register row, never twice (reconciled by lookup)
    lookup      find numbers among the caller's records (reconcile; the remote check)
    listing     every record of the account, page by page (export; the plan's --prune)
    verify      --verify: read each new record back
    messaging   --enable-messaging: enable SMS/MMS, read the state until it is final

`importer.send.operation` says what an operation module contains.
"""
