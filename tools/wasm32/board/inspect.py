# Hides the WebAssembly build's own `inspect` (it freezes micropython-lib's,
# which no board firmware has): with it, Microdot takes the VM for CPython
# and runs sync handlers in a thread-pool executor the port does not have
# (asyncio.get_running_loop). Without it Microdot calls them directly, as
# on a board. First on sys.path in tests/vm.py:run_micropython32.
