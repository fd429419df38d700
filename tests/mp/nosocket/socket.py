# A Pico without W has no socket module: importing this one fails alike.
raise ImportError("no module named 'socket'")
