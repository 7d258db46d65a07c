"""Notifications' service layer: turn lifecycle events into deliveries, deliver them at most once,
and let ops preview, list and retry.

Three steps, each with its own transaction, so the consumer never waits on a mail server:
  1. record  - the consumer's unit of work stores the event as a job (and what it says about the
               complaint) with the processed-event marker: an event is never lost, even when
               planning must wait for routing's directory (`recorder.py`);
  2. plan    - the dispatcher decides who hears what, renders and checks every message, and claims
               all deliveries of the job together with marking it planned. The delivery key
               (trigger event, recipient, channel) is unique: a key is never claimed twice
               (`planner.py`);
  3. deliver - each attempt is marked "sending" (compare-and-set) and committed before it starts;
               success, a rescheduled retry (exponential backoff, full jitter) or the final
               failure (NotificationFailed + DeadLetter, via the outbox) is committed after it
               (`dispatcher.py`).
A delivery found "sending" after a crash is not sent again: its outcome is unknown, and a message
received twice is worse than one failure that ops can see and retry (`haq notify retry`). The
NotificationAdmin use cases (list, retry, check, preview) are in `admin.py`; what these share is
in `shared.py`.
"""
