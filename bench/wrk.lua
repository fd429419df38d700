-- wrk script for the throughput benchmark. BENCH_MODE=get (default) sends
-- the URL's GET; BENCH_MODE=cycle makes every connection POST a binding and
-- then DELETE it, over and over. Run with as many threads as connections:
-- each thread then owns one connection, so its DELETE always follows its POST.
-- BENCH_TOKEN, if set, goes out as a bearer token.
local mode = os.getenv("BENCH_MODE") or "get"
local token = os.getenv("BENCH_TOKEN")
local pins = {12, 13, 14, 15, 16, 17, 18, 19, 21, 22, 23, 25, 26, 27}
local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("slot", counter)
end

local post_body, delete_path
local deleting = false  -- flips on each response (wrk does not pipeline)

function init(args)
  local pin = pins[slot] or pins[1]
  local id = "bench" .. slot
  post_body = '{"id": "' .. id .. '", "kind": "blink", "pin": ' .. pin ..
              ', "period_ms": 1000}'
  delete_path = "/api/bindings/" .. id
  if token then
    wrk.headers["Authorization"] = "Bearer " .. token
  end
end

function request()
  if mode ~= "cycle" then
    return wrk.format(nil, nil)
  end
  if deleting then
    return wrk.format("DELETE", delete_path)
  end
  return wrk.format("POST", "/api/bindings",
                    {["Content-Type"] = "application/json"}, post_body)
end

-- Only the cycle needs to see responses (a response() costs wrk a parse):
-- the next request depends on the last answer, not on a count of calls, as
-- wrk also calls request() once for a request it never sends.
if mode == "cycle" then
  function response(status, headers, body)
    deleting = not deleting
  end
end

function done(summary, latency, requests)
  io.write(string.format(
    'BENCH {"requests": %d, "duration_us": %d, "non2xx": %d, ' ..
    '"errors": %d, "lat_p50_us": %d, "lat_p99_us": %d}\n',
    summary.requests, summary.duration, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write +
    summary.errors.timeout, latency:percentile(50), latency:percentile(99)))
end
