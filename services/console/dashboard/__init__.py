"""The ops dashboard: live flow, SLA lists, queues, charts and case files in a browser."""
