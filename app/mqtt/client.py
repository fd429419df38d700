"""A small MQTT 3.1.1 client on asyncio streams: what the bridge
(``app.mqtt.hass``) needs and no more.

Covered: CONNECT (clean session, keepalive, user name and password, a
retained last will), PUBLISH at QoS 0 and 1 with retain both ways (an
incoming QoS 1 message is acknowledged), one SUBSCRIBE at QoS 1,
PINGREQ/PINGRESP and DISCONNECT. Not covered: QoS 2, persistent sessions,
resending QoS 1 messages the broker never acknowledged (after a reconnect
the bridge publishes everything it owns again instead), UNSUBSCRIBE,
MQTT 5.

Nothing here blocks the event loop: the socket is asyncio's, connecting
and the CONNACK have a deadline, and ``stalled`` tells the caller when a
write has hung or the broker went quiet, so it can drop the link. A
message is put together in a buffer the client keeps (a large payload
follows it, its parts as given), so sending one allocates no buffer. The spec:
https://docs.oasis-open.org/mqtt/mqtt/v3.1.1/mqtt-v3.1.1.html
"""
import asyncio
from time import ticks_diff, ticks_ms
from micropython import const

_CONNECT = const(0x10)
_CONNACK = const(0x20)
_PUBLISH = const(0x30)
_PUBACK = const(0x40)
_SUBSCRIBE = const(0x82)  # its fixed-header flags must be 0b0010
_SUBACK = const(0x90)
_PINGREQ = const(0xC0)
_DISCONNECT = const(0xE0)
_TIMEOUT_MS = const(5000)  # to connect, and for the CONNACK: 5 s
# larger incoming packets are read and dropped (8 KB: the REST API's
# body limit, and room for the topic)
_MAX_PACKET = const(8448)
_BUFFER = const(128)  # a state message and its topic fit
# CONNACK's return codes 1 to 5 (MQTT 3.1.1, 3.2.2.3), split on a refusal
_REFUSED = const('the broker does not speak MQTT 3.1.1\nthe broker rejected '
                 'the client_id\nthe broker is unavailable\nbad user name '
                 'or password\nnot authorized')


# The link is unusable; the message says why, for /api/status. A builtin
# exception, not a class of our own: a class costs heap (``app.mqtt.hass``
# shows a RuntimeError's message as it is).
MqttError = RuntimeError


def _string(text):
    """An MQTT UTF-8 string: two length bytes, then the bytes."""
    data = text.encode()
    return bytes((len(data) >> 8, len(data) & 0xFF)) + data


class Client:
    """One link to a broker, pinging after half of ``keepalive_s``
    without a write."""

    def __init__(self, keepalive_s=60):
        self.keepalive_ms = keepalive_s * 1000
        self.published = self.received = 0  # PUBLISH packets each way
        self._reader = self._writer = None  # asyncio's (one object)
        self._pid = 0
        self._sending = 0  # ticks_ms a write began, 0: none in progress
        self._rx = self._tx = 0  # ticks_ms of the last packet each way
        # a packet is put together here (kept: a message makes no buffer)
        self._buf = bytearray(_BUFFER)

    async def connect(self, host, port, ssl, client_id, user, password,
                      will, subscribe):
        """Open the link (TLS if ``ssl``, an SSLContext), log in with a
        last will (``offline`` to the topic ``will``, retained: the broker
        publishes it if the link dies without a DISCONNECT), and subscribe
        to the filter ``subscribe`` at QoS 1 (a refusal comes from
        ``receive``). ``host`` should be an address: a name is resolved by
        ``socket.getaddrinfo``, which blocks. Raises MqttError saying why
        (unreachable, refused, no answer)."""
        try:
            self._reader, self._writer = await asyncio.wait_for_ms(
                asyncio.open_connection(host, port, ssl=ssl), _TIMEOUT_MS)
            # clean session, a will at QoS 1, retained
            flags = 0x02 | 0x04 | 0x08 | 0x20
            keepalive = self.keepalive_ms // 1000
            body = _string(client_id) + _string(will) + _string('offline')
            if user:  # 3.1.1 allows a password only with a user name
                flags |= 0x80
                body += _string(user)
                if password:
                    flags |= 0x40
                    body += _string(password)
            await self._send(_CONNECT, None, 0, (
                b'\x00\x04MQTT\x04' + bytes((flags, keepalive >> 8,
                                                keepalive & 0xFF)), body))
            topic, data = await asyncio.wait_for_ms(self.receive(),
                                                    _TIMEOUT_MS)
        except asyncio.TimeoutError:  # first: an OSError on some ports
            raise MqttError('no answer from the broker within 5 s')
        except OSError as e:  # refused shows here too, at the first write
            raise MqttError('cannot connect to the broker: %s' % e)
        if topic is not None or not data or len(data) != 2:
            raise MqttError('the broker answered CONNECT with no CONNACK')
        code = data[1]
        if code:
            raise MqttError('the broker refused the connection: %s '
                            '(CONNACK code %d)' % (
                                _REFUSED.split('\n')[code - 1]
                                if code <= 5 else '?', code))
        await self._send(_SUBSCRIBE, None, 1, _string(subscribe) + b'\x01')

    async def publish(self, topic, payload, retain=False, qos=0):
        """Send a message: ``payload`` bytes, a str, or a tuple of them
        (sent one after the other, never joined). QoS 1 is acknowledged by
        the broker later (the PUBACK is read by ``receive``, nothing waits
        for it)."""
        await self._send(_PUBLISH | qos << 1 | retain, topic, qos, payload)
        self.published += 1

    async def ping(self):
        """A PINGREQ, if nothing was sent for half the keepalive."""
        if ticks_diff(ticks_ms(), self._tx) >= self.keepalive_ms // 2:
            await self._send(_PINGREQ, None)

    async def disconnect(self, topic=None, message=b''):
        """Say goodbye: ``message`` to ``topic`` if given (retained, QoS 1:
        what the will would say), then DISCONNECT (the broker then drops
        the will); wait for the broker to close the link, and close.
        Waiting matters: a link we close while a PUBACK is on its way
        counts as lost to mosquitto before 2.0.22, which then publishes
        the will after all (eclipse-mosquitto/mosquitto#3253). Bound it
        with a timeout."""
        try:
            if topic is not None:
                await self.publish(topic, message, True, 1)
            await self._send(_DISCONNECT, None)
            reader = self._reader
            while reader is not None and await reader.read(64):
                pass  # acknowledgements still on their way
        finally:
            self.close()

    def close(self):
        s = self._writer
        self._reader = self._writer = None
        if s is not None:
            try:
                s.close()
                # the socket itself: MicroPython's Stream.close() leaves it
                # open (its wait_closed() closes it, but that is a coroutine)
                getattr(s, 's').close()
            except Exception:
                pass

    async def _send(self, kind, topic, pid=0, payload=None):
        """Write one packet: the head byte ``kind``, ``topic`` as an MQTT
        string unless None, a new packet id if ``pid``, then ``payload``
        (as ``publish``'s). It is put together in the client's buffer and
        written at once, so it leaves in one TCP segment (pieces would be
        held back by Nagle's algorithm until the broker's delayed ACK); a
        payload too large for the buffer follows its head. Two tasks write
        (the publisher and the listener's PUBACKs) and asyncio's stream
        takes one drain at a time: a packet waits while another is being
        written (``_sending``; rare and short, so a look every 5 ms does,
        without asyncio.Lock's module)."""
        while self._sending:
            await asyncio.sleep_ms(5)
        s = self._writer
        if s is None:
            raise MqttError('not connected')
        self._sending = ticks_ms() or 1
        try:
            parts = () if payload is None else payload if isinstance(
                payload, tuple) else (payload,)
            size = 0  # in bytes: a str's memoryview is its UTF-8
            for part in parts:
                size += len(memoryview(part))
            head = 2 if pid else 0  # what comes before the payload
            if topic is not None:
                topic = memoryview(topic)
                head += 2 + len(topic)
            n = head + size  # the remaining length
            buf = self._buf
            whole = 5 + n <= len(buf)
            if not whole and 5 + head > len(buf):  # a topic that long: rare
                buf = bytearray(5 + head)
            buf[0] = kind
            i = 1
            while True:  # the remaining length: 7 bits a byte, low first
                buf[i] = n & 0x7F | (0x80 if n > 0x7F else 0)
                i += 1
                n >>= 7
                if not n:
                    break
            if topic is not None:
                n = len(topic)
                buf[i] = n >> 8
                buf[i + 1] = n & 0xFF
                buf[i + 2:i + 2 + n] = topic
                i += 2 + n
            if pid:
                n = self._pid = self._pid % 0xFFFF + 1  # 1 to 65535, never 0
                buf[i] = n >> 8
                buf[i + 1] = n & 0xFF
                i += 2
            if whole:
                for part in parts:
                    n = len(memoryview(part))
                    buf[i:i + n] = memoryview(part)
                    i += n
            # the stream sends at once, or keeps a copy of what is left
            s.write(memoryview(buf)[:i])
            if not whole:
                for part in parts:
                    # a memoryview: the stream counts what the socket took
                    # in bytes, and slices the rest by its length
                    s.write(memoryview(part))
            await s.drain()
            self._tx = ticks_ms()
        finally:
            self._sending = 0

    async def receive(self):
        """(topic, payload bytes) of the next message sent to us; payload
        None if it was larger than 8 KB (read and dropped, its topic
        kept); (None, body) for a CONNACK. Acknowledges QoS 1 and takes
        the other control packets (PUBACK, SUBACK, PINGRESP) in passing."""
        s = self._reader
        if s is None:
            raise MqttError('not connected')
        while True:
            head = await s.read(1)
            if not head:
                raise MqttError('the broker closed the connection')
            n = shift = 0
            while True:  # the remaining length
                byte = (await s.readexactly(1))[0]
                n |= (byte & 0x7F) << shift
                if not byte & 0x80:
                    break
                shift += 7
                if shift > 21:
                    raise MqttError('malformed packet from the broker')
            self._rx = ticks_ms()
            kind = head[0] & 0xF0
            if n > _MAX_PACKET:  # keep a message's topic, drop the rest
                size = await s.readexactly(2)
                topic = await s.readexactly(min(size[0] << 8 | size[1],
                                                n - 2))
                n -= 2 + len(topic)
                while n:
                    n -= len(await s.readexactly(min(n, 512)))
                if kind == _PUBLISH:
                    self.received += 1
                    return topic.decode(), None
                continue
            data = await s.readexactly(n)
            if kind == _PUBLISH:
                self.received += 1
                size = data[0] << 8 | data[1]
                topic = data[2:2 + size].decode()
                start = 2 + size
                if head[0] & 0x06:  # QoS 1 (we subscribe at 1, so no 2)
                    await self._send(_PUBACK, None, 0, data[start:start + 2])
                    start += 2
                return topic, data[start:]
            if kind == _CONNACK:
                return None, data
            if kind == _SUBACK and 0x80 in data[2:]:
                raise MqttError('the broker refused a subscription')

    def stalled(self):
        """Why the link is dead though the socket looks open, or None: a
        write hung (a broker not reading), or the broker silent for 1.5
        keepalive periods (it answers our pings, so it never is)."""
        now = ticks_ms()
        keepalive = self.keepalive_ms
        if self._sending and ticks_diff(now, self._sending) > keepalive:
            return 'a write to the broker hung for %d s' % (keepalive // 1000)
        if ticks_diff(now, self._rx) > keepalive * 3 // 2:
            return 'no answer from the broker for %d s' % (
                keepalive * 3 // 2000)
        return None
