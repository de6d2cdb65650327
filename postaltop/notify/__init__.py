"""Alert notifications: channels (Alertmanager, Slack, PagerDuty, e-mail) and the dispatcher in front of them.

The dispatcher turns alert transitions into at most one notification per incident (plus a resolve, and a
reminder every ``repeat_interval`` while it stays open), retries failed deliveries with exponential
backoff and writes what could not be delivered to a dead-letter JSONL file.
Secrets come from the environment or 0600 files.
"""
