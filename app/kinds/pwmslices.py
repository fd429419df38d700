"""rp2's PWM slices: the checks of a ``pwm`` or ``breathe`` binding's pin
against the others' (``Pwm.check_peers``), loaded by the first such check
on an rp2 board; other boards never hold this code."""
from app.errors import ApiError
from app.kinds.pwm import FREQ_HZ, Pwm


def check(binding_id, pin, params, peers):
    """The other pin of a PWM slice runs at the same frequency, and GPIO n
    and n + 16 (one channel) never both. ``peers``: the other bindings as
    (id, class, pin, params)."""
    for other_id, other_cls, other_pin, other in peers:
        if other_id == binding_id or not issubclass(other_cls, Pwm) \
                or (other_pin >> 1) & 7 != (pin >> 1) & 7:
            continue
        slice_ = (pin >> 1) & 7
        if other_pin & 1 == pin & 1:
            why = ('GPIO %d and %d are the same output of PWM slice %d'
                   % (other_pin, pin, slice_))
        elif other.get('freq_hz', FREQ_HZ) != params.get('freq_hz',
                                                          FREQ_HZ):
            why = ('PWM slice %d drives GPIO %d at %d Hz and GPIO %d '
                   'would need %d Hz' % (
                       slice_, other_pin, other.get('freq_hz', FREQ_HZ),
                       pin, params.get('freq_hz', FREQ_HZ)))
        else:
            continue
        raise ApiError(409, 'pwm_slice_in_use', '%s: binding "%s" uses '
                       'it; use its frequency, another pin, or delete it'
                       % (why, other_id), 'pin')
