"""The scale-out check (`make scale-check`, `manage.py scale_check`): several instances working together.

Two gunicorn instances and two RQ workers against one MariaDB database, S3-compatible storage
(moto's server) and Redis, driven through real HTTP like people would, alternating between the
instances. One job per module:

- `stack`: the processes (moto, the SMTP sink, gunicorn, RQ workers) and their environment;
- `browser`: a person's browser (cookies, forms with their CSRF token, both instances);
- `mailbox`: reading what the SMTP sink accepted (recipients, subjects, acknowledgement links);
- `journey`: seeding the organisation and the steps people take, submit to acknowledge;
- `checks`: what must hold afterwards, as plain functions of collected facts, and the summary.
"""
