"""Campaigns: one message to many recipients, paced, tracked per recipient, restart-safe.

``requests``, ``template`` and ``pacing`` are pure; ``service`` holds the API's operations and
``dispatcher`` the background task that sends through the outbox and follows the event log.
"""
