"""Builders for ASGI wrappers that rewrite a request or a response on its way through, and the words faults use.

Owns the send/receive plumbing faults are made of (STYLE T3): request.py buffers and replays request
bodies, response.py holds back a JSON answer until it is rewritten and fixes ``content-length``,
stream.py re-frames SSE events and delays chunks, edits.py names what an edit applies to, views.py
holds the values they take and return. Each builder takes a small pure function and returns
``Wrapper = ASGIApp -> ASGIApp``. Knows nothing about any particular fault or about the app it wraps;
catalogue modules import from these modules only.
"""
