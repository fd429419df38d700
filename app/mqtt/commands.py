"""The commands the bridge (``app.mqtt.hass``) takes: ``<base>/<binding>/set``
(a verb of the registry, or a PATCH body) and ``<base>/config/set`` (a
``PATCH /api/config`` body, if ``mqtt.allow_config``); a refusal is
published to ``<base>/<name>/error`` as the API's error JSON. Loaded by
the first command a board receives, then kept: a board that only
publishes never holds it."""
import asyncio
import json
from micropython import const
from app.errors import ApiError

_MAX_BODY = const(8192)  # as the REST API's bodies (app.mqtt.client reads no more)
_COMMANDS = const('send ON, OFF, TOGGLE, PULSE (a pulse binding) or a JSON '
                  'object (a PATCH body) to <base>/<binding>/set')
_VERBS = {b'ON': 'on', b'OFF': 'off', b'TOGGLE': 'toggle', b'PULSE': 'pulse'}


async def apply(bridge, client, topic, payload):
    """Apply one ``<base>/<name>/set`` message of ``bridge``'s link
    ``client``; a refusal is published to ``<base>/<name>/error``."""
    prefix = bridge.base + '/'
    if not (topic.startswith(prefix) and topic.endswith('/set')):
        return
    name = topic[len(prefix):-4]
    try:
        if payload is None:
            raise ApiError(413, 'too_large', 'the message is larger '
                           'than %d bytes' % _MAX_BODY)
        if name == 'config':
            _config(bridge, payload)
        else:
            _binding(bridge.registry, name, payload)
    except ApiError as e:
        await _refuse(bridge, client, name, e.response()[0])
    except MemoryError:
        raise
    except Exception as e:  # a bug: say so where the sender looks
        await _refuse(bridge, client, name, {'error': {
            'code': 'internal', 'field': None,
            'message': '%s: %s' % (type(e).__name__, e)}})


async def _refuse(bridge, client, name, body):
    await client.publish('%s/%s/error' % (bridge.base, name),
                         json.dumps(body))


def _binding(registry, binding_id, payload):
    """A command word (the registry's verb) or a PATCH body."""
    binding_id = binding_id[:40]
    word = payload.strip()
    verb = _VERBS.get(word)
    if verb is not None:
        registry.do(verb, binding_id)
        return
    registry.get(binding_id)  # an unknown binding: 404 first
    if word[:1] != b'{':
        raise ApiError(400, 'invalid_command', _COMMANDS, None)
    from app.strictjson import loads
    registry.update(binding_id, loads(word), True)


def _config(bridge, payload):
    if not bridge.config['allow_config']:
        raise ApiError(403, 'forbidden', 'config over MQTT is off: set '
                       'mqtt.allow_config to true (PATCH /api/config) to '
                       'allow it', 'mqtt.allow_config')
    from app import settings
    from app.strictjson import loads
    settings.change(bridge.registry, bridge.store,
                    loads(payload, '{"limits": {"bindings": 8}}'))
    if bridge.on_config is not None:
        # a task of its own: restarting cancels this one's parent
        asyncio.create_task(_later(bridge.on_config))


async def _later(func):
    func()
