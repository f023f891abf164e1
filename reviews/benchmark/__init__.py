"""The page benchmark behind `manage.py bench_pages` (`make bench`).

- `bulk`: multi-row INSERTs with ids chosen up front (minutes, not hours, for 100,000 plans).
- `data`: the data set (organisations of 25 and 10,000 people, 1,000 and 100,000 plans, a large plan).
- `server`: the bench database, migrations, gunicorn and wrk.
- `measure`: the pages, their query counts and SQL (in-process) and their speed (wrk over HTTP).
- `explain`: MariaDB's EXPLAIN of each page's queries; filesorts and full scans flagged.
- `report`: the markdown table and the PASS/FAIL lines of the "flat in size" goal.
"""
