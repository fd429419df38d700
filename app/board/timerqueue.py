"""Many timers on one: virtual timers served by one hardware timer.

A board with few hardware timers (an ESP32 has four, a C3 two) gives all
but its last one to bindings of their own and keeps the last for this
queue, so more bindings can run than there are timers. Each
``QueuedTimer`` has ``machine.Timer``'s interface (``init``/``deinit``,
PERIODIC and ONE_SHOT, a period in ms), so a binding cannot tell.

The hardware timer runs ONE_SHOT to the earliest deadline; its interrupt
fires whatever is due and arms it again. A periodic deadline advances by
whole periods from the one before, never from "now", so a rate stays
exact however late one interrupt runs. Nothing here allocates in the
interrupt: slots are made when a binding takes one, in the main program.
"""
from time import ticks_add, ticks_diff
from micropython import const

_MAX_WAIT_MS = const(60000)  # wake at least this often: long periods stay in ticks_diff's range


def _nothing(_):
    """The callback of a free slot: the interrupt may still be reading it."""


class QueuedTimer:
    """One slot of a ``TimerQueue``, used like a ``machine.Timer`` (modes
    are the hardware timer's ``PERIODIC`` and ``ONE_SHOT``)."""

    def __init__(self, queue):
        self.queue = queue
        self.active = False
        self.cb = _nothing
        self.periodic = False
        self.period = 1
        self.due = 0

    def init(self, mode=None, period=-1, callback=None, hard=None):
        """As ``machine.Timer.init`` (``hard`` is the queue's business);
        safe to call from a callback, to re-arm. ``active`` is written last
        and never cleared here: an interrupt reading the slot meanwhile
        must not take a re-armed slot for a stopped one."""
        if period < 1:
            raise ValueError('period must be at least 1 ms')
        queue = self.queue
        self.periodic = mode != queue.one_shot
        self.period = period
        self.cb = callback or _nothing
        self.due = ticks_add(queue.clock(), period)
        self.active = callback is not None
        queue.arm()  # from a callback too: the interrupt arms again when done

    def deinit(self):
        self.active = False
        self.cb = _nothing


class TimerQueue:
    """The slots sharing ``timer`` (a ``machine.Timer``); ``clock`` is
    ``ticks_ms``; ``hard`` is passed to the timer's ``init`` unless None."""

    def __init__(self, timer, clock, hard=None):
        self.timer = timer
        self.one_shot = timer.ONE_SHOT
        self.clock = clock
        self.hard = hard
        self.slots = []
        self.fires = 0  # hardware interrupts taken
        self.error = None  # an exception that escaped a slot's callback
        self._isr = self.isr  # pre-bound: the interrupt may not allocate
        self._init = timer.init

    def add(self):
        """A new slot (main program only)."""
        slot = QueuedTimer(self)
        self.slots.append(slot)
        return slot

    def remove(self, slot):
        slot.deinit()
        self.slots.remove(slot)

    def arm(self):
        """Set the hardware timer for the earliest deadline."""
        self._arm(self.clock())

    def _arm(self, now):
        wait = _MAX_WAIT_MS
        for slot in self.slots:  # a list's iterator lives on the C stack
            if slot.active:
                left = ticks_diff(slot.due, now)
                if left < wait:
                    wait = left
        if wait < 1:
            wait = 1
        if self.hard is None:
            self._init(mode=self.one_shot, period=wait, callback=self._isr)
        else:
            self._init(mode=self.one_shot, period=wait, callback=self._isr,
                       hard=self.hard)

    def isr(self, _):
        """Fire every slot that is due, then arm for the next deadline."""
        self.fires += 1
        if self.fires > 0x1FFFFFFF:  # stays a small int on 32-bit
            self.fires = 0
        now = self.clock()
        for slot in self.slots:
            if slot.active and ticks_diff(slot.due, now) <= 0:
                if slot.periodic:
                    due = ticks_add(slot.due, slot.period)
                    if ticks_diff(due, now) <= 0:  # a whole period overrun: skip, as hardware does
                        due = ticks_add(now, slot.period)
                    slot.due = due
                else:
                    slot.active = False
                try:
                    slot.cb(slot)
                except Exception as e:  # the others keep their timer
                    slot.active = False
                    self.error = e
        self._arm(now)
