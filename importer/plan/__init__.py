"""The plan: how the account differs from the sheet, row by row (design.md, "Keeping the
account in step with the sheet").

    changes   the rules: which fields a row sets, how a record differs, what fixes it
    planning  valid rows + the account's records → planned rows (`would_update`, …)
    saved     a plan written to PLAN.json and read back, refused once stale
"""
