"""Stage 3, validate: every row judged, in chunks, in sheet order.

rows.py          the row judge (`RowValidator`, `validate_rows`)
phone.py, nanp.py, phonebatch.py   phone numbers (libphonenumber, the NANP fast path)
capabilities.py, checks.py, numberpolicy.py   the other fields and the partner's rules
catalogue.py     every issue code
cellerrors.py    spreadsheet error values (#N/A) in the phone-number column
streaming.py, chunks.py, settling.py, spawning.py   the streamed pipeline
"""
