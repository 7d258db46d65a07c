"""Notifications: tells customers (and, later, staff) where a complaint stands, once per
(trigger event, recipient, channel), in their language."""
