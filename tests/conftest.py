import pytest
from vm import VM, make_flash


@pytest.fixture
def make_vm(tmp_path):
    """Factory: make_vm(config=None, heapsize=None, flash=None) -> started VM.
    Every VM is stopped (by pid) when the test ends."""
    started = []

    def make(config=None, heapsize=None, flash=None, port=None):
        if flash is None:
            flash = make_flash(tmp_path / ('flash%d' % len(started)), config)
        vm = VM(flash, port=port, heapsize=heapsize)
        started.append(vm)
        return vm.start()

    yield make
    for vm in started:
        vm.stop()


@pytest.fixture
def vm(make_vm):
    """A VM with an empty binding list."""
    return make_vm(config={'board': 'auto', 'bindings': []})
