"""The queue between paho's network thread and the writer, bounded in readings.

The broker's flow control (MQTT v5 receive maximum) bounds how many *messages* are held
unacknowledged, but a batch message of up to 500 readings parses into ~1.2 KB of Python
objects per reading: 2,000 held batch messages could be a gigabyte. So the queue also counts
readings, and the network thread waits (briefly, never long enough to miss a keepalive)
while the writer is a full queue behind. A message is never dropped: after the wait it is
queued anyway, and the caller is told so it can report it.
"""

from __future__ import annotations

import queue
import time

from ingest.writer import Inbound

DEFAULT_READINGS = 20_000  # ~25 MB of parsed readings; measured in docs/performance.md


class Inbox(queue.Queue[Inbound]):
    """A FIFO of messages that knows how many readings it holds (``readings``)."""

    def __init__(self, readings_limit: int = DEFAULT_READINGS) -> None:
        if readings_limit < 1:
            raise ValueError("readings_limit must be at least 1")
        super().__init__()
        self.readings_limit = readings_limit
        self.readings = 0

    # queue.Queue's hooks, called with its mutex held
    def _put(self, item: Inbound) -> None:
        self.queue.append(item)
        self.readings += item.weight

    def _get(self) -> Inbound:
        item: Inbound = self.queue.popleft()
        self.readings -= item.weight
        return item

    def put_when_room(self, item: Inbound, *, timeout_s: float) -> bool:
        """Queue ``item`` once the queue has room for its readings, waiting at most
        ``timeout_s`` (a message alone always fits). Returns False if the wait ran out and
        the item was queued past the limit (the writer is stalled or far behind)."""
        n = item.weight
        roomy = True
        with self.not_full:
            deadline = time.monotonic() + timeout_s
            while self.readings and self.readings + n > self.readings_limit:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    roomy = False
                    break
                self.not_full.wait(remaining)  # get() notifies after each item it takes
            self._put(item)
            self.unfinished_tasks += 1
            self.not_empty.notify()
        return roomy
