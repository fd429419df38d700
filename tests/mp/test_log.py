"""app.log in the VM: the ring (oldest first, bounded, 0 = off), the
clock's "t", texts cut on a character boundary, the size followed from the
config, the heap of a full ring, and GET /api/log through the app."""
import gc
import unit
from app import log
from app.board.board import Board
from app.registry import Registry
from fakes import Store, request


class FakeClock:
    def __init__(self, now, synced):
        self._now = now
        self.synced = synced

    def now(self):
        return self._now


def fresh(n=32, clock=None, store=None):
    """An empty ring of ``n`` on ``store`` (a new one by default)."""
    store = store or Store()
    log.store = store
    store.data['log'] = {'size': 0}
    log.entries()  # emptied
    store.data['log'] = {'size': n}
    log.clock = clock
    del log.listeners[:]
    return store


def resize(n):
    log.store.data['log'] = {'size': n}


def texts():
    return [e['text'] for e in log.entries()]


def test_oldest_first_and_only_the_last_n():
    fresh(4)
    for i in range(10):
        log.note('event %d' % i)
    assert texts() == ['event 6', 'event 7', 'event 8', 'event 9'], texts()
    ups = [e['up_ms'] for e in log.entries()]
    assert ups == sorted(ups) and ups[0] >= 0, ups


def test_size_0_keeps_nothing_but_still_prints_and_streams():
    fresh(0)
    seen = []
    log.listeners.append(seen.append)
    log.note('wifi: joined "home", IP 192.168.1.23')
    assert log.entries() == []
    assert seen == [{'t': None, 'up_ms': seen[0]['up_ms'],
                     'text': 'wifi: joined "home", IP 192.168.1.23'}], seen


def test_t_is_null_until_the_clock_is_synced():
    clock = FakeClock(1796155200, False)
    fresh(8, clock)
    log.note('before')
    clock.synced = True
    log.note('after')
    clock._now += 3600
    log.note('an hour later')
    ts = [e['t'] for e in log.entries()]
    assert ts == [None, 1796155200, 1796158800], ts


def test_a_clock_set_back_keeps_every_t():
    clock = FakeClock(1796155200, True)
    fresh(8, clock)
    log.note('a')
    clock._now = 946684800  # an RTC back at 2000-01-01
    log.note('b')
    clock._now = 4102444800  # 2100
    log.note('c')
    assert [e['t'] for e in log.entries()] == [1796155200, 946684800,
                                               4102444800]


def test_long_texts_are_cut_on_a_character_boundary():
    fresh(4)
    log.note('x' * 300)
    log.note('\u00e9' * 80)  # 2 bytes each: 160 bytes
    a, b = texts()
    assert a == 'x' * (log.TEXT_MAX - 3) + '...', a
    assert len(b.encode()) <= log.TEXT_MAX and b.endswith('...'), b
    assert b[:-3] == '\u00e9' * ((log.TEXT_MAX - 3) // 2), b


def test_resize_keeps_the_newest():
    fresh(8)
    for i in range(6):
        log.note('e%d' % i)
    resize(3)
    assert texts() == ['e3', 'e4', 'e5'], texts()
    resize(5)
    log.note('e6')
    assert texts() == ['e3', 'e4', 'e5', 'e6'], texts()
    resize(0)
    assert texts() == []


def test_the_size_follows_the_config_however_it_changed():
    store = fresh(32)
    for i in range(5):
        log.note('e%d' % i)
    store.data['log'] = {'size': 2}  # as a PATCH or MQTT would leave it
    assert texts() == ['e3', 'e4'], texts()
    assert log.size == 2
    log.store = None  # before app.main sets it: the default size
    log.note('e5')
    assert texts() == ['e4', 'e5'], texts()


def test_note_never_raises():
    fresh(4)

    class Broken:
        synced = True

        def now(self):
            raise OSError(5)
    log.clock = Broken()
    log.note('clock broken')  # no exception
    log.clock = None
    log.note(None)  # not even for something that is not text
    log.listeners.append(lambda entry: 1 / 0)
    log.note('listener broken')
    assert texts() == ['listener broken'], texts()


def heap_of_full_ring(n, text):
    store = fresh(0)
    gc.collect()
    before = gc.mem_alloc()
    store.data['log'] = {'size': n}
    log.clock = FakeClock(1796155200, True)
    for i in range(n + 1):
        log.note(text)
    gc.collect()
    return gc.mem_alloc() - before


def test_a_full_ring_costs_its_size_whatever_the_texts():
    """The figure docs/api.md gives: TEXT_MAX bytes and 3 ints (12 bytes)
    per entry, plus the two objects' headers (within one 16-byte block
    each: the heap's unit). Short and long texts cost the same."""
    long_ = heap_of_full_ring(32, 'y' * 300)
    short = heap_of_full_ring(32, 'x')
    assert long_ == short, (long_, short)
    bound = 32 * (log.TEXT_MAX + 12) + 2 * 64
    assert 32 * (log.TEXT_MAX + 12) <= long_ <= bound, (long_, bound)
    print('heap of a full ring of 32: %d bytes' % long_)
    fresh(0)
    gc.collect()


def test_get_api_log_oldest_first():
    from app.http.api import create_app
    reg = Registry(Board('sim', 8), 8)
    reg.on_change = lambda: None  # app.main's persistence: nothing to save
    store = fresh(32, FakeClock(1796155200, True))
    log.note('schedule "ev1": start "porch"')
    log.clock = None
    log.note('wifi: joined "home", IP 192.168.1.23')
    app = create_app(reg, store)
    status, body = request(app, 'GET', '/api/log')
    assert status == 200, body
    events = body['events']
    assert [e['text'] for e in events] == [
        'schedule "ev1": start "porch"',
        'wifi: joined "home", IP 192.168.1.23'], events
    assert events[0]['t'] == 1796155200 and events[1]['t'] is None, events
    assert sorted(events[0]) == ['t', 'text', 'up_ms'], events[0]
    status, body = request(app, 'PATCH', '/api/config', {'log': {'size': 1}})
    assert status == 200 and body['log'] == {'size': 1}, body
    status, body = request(app, 'GET', '/api/log')
    assert [e['text'] for e in body['events']] == [
        'wifi: joined "home", IP 192.168.1.23'], body
    for bad in (-1, 129, 'x', True):
        status, body = request(app, 'PATCH', '/api/config',
                               {'log': {'size': bad}})
        assert status == 400 and body['error']['field'] == 'log.size', body
    fresh(32)


def test_an_unknown_path_points_at_the_openapi_document():
    from app.http.api import create_app
    app = create_app(Registry(Board('sim', 8), 8), Store())
    status, body = request(app, 'GET', '/api/nope')
    message = body['error']['message']
    assert status == 404 and body['error']['code'] == 'not_found', body
    assert '/api/nope' in message and '/api/openapi.json' in message \
        and '/api/kinds' in message and 'README' not in message, message


unit.main(globals())
