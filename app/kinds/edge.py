"""The ``edge`` kind: a button or a switch on an input pin."""
from app.kinds.inputs import NO_RULES, Input


class Edge(Input):
    """Counts the presses of a button or a switch, debounced, and shows its
    level, how long ago the last edge was, and the bounces it rejected; its
    rules act on other bindings (``app.kinds.rules``)."""
    KIND = 'edge'
    FIELDS = Input.FIELDS + (('on', 'rules', NO_RULES, None, None),)
