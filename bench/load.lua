-- wrk script for bench/load.py: GET /api/bindings mixed with PATCH, stop and
-- start on the "churn" bindings. Args: comma-separated churn ids, token.
-- Counts every status; done() prints them as one JSON line.
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  ids = {}
  for id in string.gmatch(args[1] or "", "[^,]+") do
    table.insert(ids, id)
  end
  token = args[2] or ""
  n = 0
  statuses = {}
end

function request()
  n = n + 1
  local headers = {}
  if token ~= "" then
    headers["Authorization"] = "Bearer " .. token
  end
  local r = n % 10
  if r < 7 or #ids == 0 then
    return wrk.format("GET", "/api/bindings", headers)
  end
  local id = ids[(math.floor(n / 10) % #ids) + 1]
  if r == 7 then
    headers["Content-Type"] = "application/json"
    local body = '{"period_ms": ' .. (20 + (n % 50) * 2) .. '}'
    return wrk.format("PATCH", "/api/bindings/" .. id, headers, body)
  elseif r == 8 then
    return wrk.format("POST", "/api/bindings/" .. id .. "/stop", headers)
  end
  return wrk.format("POST", "/api/bindings/" .. id .. "/start", headers)
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local total = {}
  for _, t in ipairs(threads) do
    for k, v in pairs(t:get("statuses")) do
      total[k] = (total[k] or 0) + v
    end
  end
  local parts = {}
  for k, v in pairs(total) do
    table.insert(parts, string.format('"%d": %d', k, v))
  end
  local e = summary.errors
  io.write(string.format(
    'LOAD {"statuses": {%s}, "requests": %d, "duration_us": %d, ' ..
    '"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, ' ..
    '"timeout": %d}, "latency_p50_us": %d, "latency_p99_us": %d, ' ..
    '"latency_max_us": %d}\n',
    table.concat(parts, ", "), summary.requests, summary.duration,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99), latency.max))
end
