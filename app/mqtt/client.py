"""A small MQTT 3.1.1 client on asyncio streams: what the bridge
(``app.mqtt.hass``) needs and no more.

Covered: CONNECT (clean session, keepalive, user name and password, a
retained last will), PUBLISH at QoS 0 and 1 with retain both ways (an
incoming QoS 1 message is acknowledged), SUBSCRIBE, PINGREQ/PINGRESP and
DISCONNECT. Not covered: QoS 2, persistent sessions, resending QoS 1
messages the broker never acknowledged (after a reconnect the bridge
publishes everything it owns again instead), UNSUBSCRIBE, MQTT 5.

Nothing here blocks the event loop: the socket is asyncio's, connecting
and the CONNACK have a deadline, and ``stalled`` tells the caller when a
write has hung or the broker went quiet, so it can drop the link. The
spec: https://docs.oasis-open.org/mqtt/mqtt/v3.1.1/mqtt-v3.1.1.html
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
_PINGRESP = const(0xD0)
_DISCONNECT = const(0xE0)
# CONNACK's return codes 1 to 5 (MQTT 3.1.1, 3.2.2.3)
_REFUSED = ('the broker does not speak MQTT 3.1.1',
            'the broker rejected the client_id',
            'the broker is unavailable',
            'bad user name or password',
            'not authorized')


class MqttError(Exception):
    """The link is unusable; the message says why, for /api/status."""


def _string(text):
    """An MQTT UTF-8 string: two length bytes, then the bytes."""
    data = text.encode() if isinstance(text, str) else text
    return len(data).to_bytes(2, 'big') + data


def _length(n):
    """The remaining-length field: 7 bits a byte, low bits first."""
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        out.append(byte | 0x80 if n else byte)
        if not n:
            return out


class Client:
    """One link to a broker. ``will``: (topic, message) the broker
    publishes, retained, if the link dies without a DISCONNECT.
    ``max_packet``: larger incoming packets are read and dropped
    (``receive`` returns their topic with None as the payload)."""

    def __init__(self, client_id, user='', password='', keepalive_s=60,
                 will=None, max_packet=8448):
        self.client_id = client_id
        self.user = user
        self.password = password
        self.keepalive_ms = keepalive_s * 1000
        self.will = will
        self.max_packet = max_packet
        self.published = 0  # PUBLISH packets sent...
        self.received = 0  # ...and received
        self._reader = self._writer = None
        self._pid = 0
        self._sending = 0  # ticks_ms a write began, 0: none in progress
        self._rx = self._tx = 0  # ticks_ms of the last packet each way

    async def connect(self, host, port, ssl=None, timeout_ms=5000):
        """Open the link and log in. ``host`` should be an address: a name
        is resolved by ``socket.getaddrinfo``, which blocks. Raises
        MqttError saying why (unreachable, refused, no answer)."""
        try:
            await self._open(host, port, ssl, timeout_ms)
        except asyncio.TimeoutError:  # first: an OSError on some ports
            raise MqttError('no answer from the broker within %d s'
                            % (timeout_ms // 1000))
        except OSError as e:  # refused shows here too, at the first write
            raise MqttError('cannot connect to the broker: %s' % e)
        except EOFError:
            raise MqttError('the broker closed the connection before CONNACK')

    async def _open(self, host, port, ssl, timeout_ms):
        """TCP (TLS if ``ssl``), CONNECT, and the CONNACK's verdict."""
        self._reader, self._writer = await asyncio.wait_for_ms(
            asyncio.open_connection(host, port, ssl=ssl), timeout_ms)
        flags = 0x02  # clean session
        payload = _string(self.client_id)
        if self.will:
            flags |= 0x04 | 0x08 | 0x20  # a will, at QoS 1, retained
            payload += _string(self.will[0]) + _string(self.will[1])
        if self.user:  # 3.1.1 allows a password only with a user name
            flags |= 0x80
            payload += _string(self.user)
            if self.password:
                flags |= 0x40
                payload += _string(self.password)
        await self._send(_CONNECT, b'\x00\x04MQTT\x04' + bytes((flags,))
                         + (self.keepalive_ms // 1000).to_bytes(2, 'big')
                         + payload)
        kind, data = await asyncio.wait_for_ms(self._packet(), timeout_ms)
        if kind != _CONNACK or len(data) != 2:
            raise MqttError('the broker answered CONNECT with packet type %d'
                            % (kind >> 4))
        code = data[1]
        if code:
            raise MqttError('the broker refused the connection: %s '
                            '(CONNACK code %d)' % (
                                _REFUSED[code - 1] if code <= 5 else '?', code))

    def _next_pid(self):
        self._pid = self._pid % 0xFFFF + 1  # 1 to 65535; 0 is not allowed
        return self._pid.to_bytes(2, 'big')

    async def publish(self, topic, payload, retain=False, qos=0):
        """Send a message; QoS 1 is acknowledged by the broker later (the
        PUBACK is read by ``receive``, nothing waits for it)."""
        head = _PUBLISH | (qos << 1) | (1 if retain else 0)
        body = _string(topic)
        if qos:
            body += self._next_pid()
        await self._send(head, body, payload)
        self.published += 1

    async def subscribe(self, topic, qos=1):
        """Ask for ``topic`` (a filter); the SUBACK is read by ``receive``,
        which raises MqttError if the broker refused it."""
        await self._send(_SUBSCRIBE, self._next_pid() + _string(topic)
                         + bytes((qos,)))

    async def ping(self):
        await self._send(_PINGREQ, b'')

    async def disconnect(self):
        """Say goodbye (the broker then drops the will), wait for the
        broker to close the link, and close. Waiting matters: a link we
        close while a PUBACK is on its way counts as lost to mosquitto
        before 2.0.22, which then publishes the will after all
        (eclipse-mosquitto/mosquitto#3253). Bound it with a timeout."""
        try:
            await self._send(_DISCONNECT, b'')
            reader = self._reader
            while reader is not None and await reader.read(64):
                pass  # acknowledgements still on their way
        finally:
            self.close()

    def close(self):
        writer = self._writer
        self._reader = self._writer = None
        if writer is not None:
            try:
                writer.close()
                # the socket itself: MicroPython's Stream.close() leaves it
                # open (its wait_closed() closes it, but that is a coroutine)
                getattr(writer, 's').close()
            except Exception:
                pass

    async def _send(self, head, body, payload=b''):
        """Write one packet. Two tasks write (the publisher and the
        listener's PUBACKs) and asyncio's stream takes one drain at a time:
        a packet waits while another is being written (``_sending``; rare
        and short, so a look every 5 ms does, without asyncio.Lock's
        module)."""
        while self._sending:
            await asyncio.sleep_ms(5)
        writer = self._writer
        if writer is None:
            raise MqttError('not connected')
        self._sending = ticks_ms() or 1
        try:
            writer.write(bytes((head,)) + _length(len(body) + len(payload))
                         + body)
            if payload:
                writer.write(payload)
            await writer.drain()
            self._tx = ticks_ms()
        finally:
            self._sending = 0

    async def _packet(self):
        """(first byte, body) of the next packet; the body is None for one
        over ``max_packet`` (read and dropped). EOFError at the end."""
        reader = self._reader
        if reader is None:
            raise MqttError('not connected')
        head = await reader.read(1)
        if not head:
            raise EOFError
        n = shift = 0
        while True:
            byte = (await reader.readexactly(1))[0]
            n |= (byte & 0x7F) << shift
            if not byte & 0x80:
                break
            shift += 7
            if shift > 21:
                raise MqttError('malformed packet from the broker')
        self._rx = ticks_ms()
        if n <= self.max_packet:
            return head[0], await reader.readexactly(n) if n else b''
        first = await reader.readexactly(2)  # keep the topic, drop the rest
        topic_len = int.from_bytes(first, 'big')
        topic = await reader.readexactly(min(topic_len, n - 2))
        n -= 2 + len(topic)
        while n:
            n -= len(await reader.readexactly(min(n, 512)))
        return head[0], (topic, None)

    async def receive(self):
        """(topic, payload bytes) of the next message sent to us; payload
        None if it was larger than ``max_packet``. Acknowledges QoS 1 and
        takes the control packets (PUBACK, SUBACK, PINGRESP) in passing."""
        while True:
            try:
                head, data = await self._packet()
            except EOFError:
                raise MqttError('the broker closed the connection')
            kind = head & 0xF0
            if kind == _PUBLISH:
                self.received += 1
                if isinstance(data, tuple):  # too large: its topic only
                    return data[0].decode(), None
                size = int.from_bytes(data[:2], 'big')
                topic = data[2:2 + size].decode()
                start = 2 + size
                if head & 0x06:  # QoS 1 (we subscribe at 1, so no 2)
                    await self._send(_PUBACK, data[start:start + 2])
                    start += 2
                return topic, data[start:]
            if kind == _SUBACK and data and 0x80 in data[2:]:
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

    def idle_ms(self):
        """How long since we last sent anything (a ping is due at half the
        keepalive)."""
        return ticks_diff(ticks_ms(), self._tx)
