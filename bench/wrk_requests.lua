-- wrk script used by bench/loadgen.py: replays a file of requests, counts statuses.
--
-- wrk -tT -cC -dDs -s wrk_requests.lua http://127.0.0.1:PORT -- REQUESTS_FILE NTHREADS
--   REQUESTS_FILE: one request a line, "METHOD<TAB>PATH<TAB>BODY" (BODY may be empty).
--   NTHREADS must equal -t: thread k sends lines k+1, k+1+T, k+1+2T, ... and starts
--   its share again when it runs out (`wrapped` counts how often).
-- Shared headers (Content-Type, Cookie) come from wrk's -H options.
-- Output: one line "BENCHJSON {...}" read by loadgen.py.
--
-- Why no count bound here: a wrk thread that stops cannot close its connections,
-- wrk reconnects after every gunicorn sync response, and an idle connection pins a
-- sync worker forever, so the last requests in flight would queue behind idle
-- connections. Count-bounded and single-use runs use loadgen's Python engine.

local ffi = require("ffi")
ffi.cdef [[
  typedef struct { long tv_sec; long tv_nsec; } bench_ts;
  int clock_gettime(int clk, bench_ts *tp);
]]
local ts = ffi.new("bench_ts")
local function now()
  ffi.C.clock_gettime(1, ts) -- CLOCK_MONOTONIC
  return tonumber(ts.tv_sec) + tonumber(ts.tv_nsec) / 1e9
end

local threads = {}
local counter = 0

function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

function init(args)
  local file = args[1]
  local nthreads = tonumber(args[2])
  local lines = 0
  for _ in io.lines(file) do lines = lines + 1 end
  -- Thread k takes every nthreads-th line; with fewer lines than threads, each takes all.
  local step, share = nthreads, tid
  if lines < nthreads then step, share = 1, 0 end
  reqs = {}
  local i = 0
  for line in io.lines(file) do
    if i % step == share then
      local m, p, b = line:match("^(%u+)\t([^\t]*)\t(.*)$")
      if m then
        if b == "" then b = nil end
        reqs[#reqs + 1] = wrk.format(m, p, nil, b)
      end
    end
    i = i + 1
  end
  idx, sent, wrapped = 1, 0, 0
  statuses = {}
  t_first, t_last = 0, 0
end

function request()
  if sent == 0 then t_first = now() end
  if idx > #reqs then
    idx = 1
    wrapped = wrapped + 1
  end
  local r = reqs[idx]
  idx = idx + 1
  sent = sent + 1
  return r
end

function response(status, headers, body)
  t_last = now()
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local total, t0, t1, any_wrapped = 0, nil, 0, 0
  local merged = {}
  for _, t in ipairs(threads) do
    for code, n in pairs(t:get("statuses")) do
      merged[code] = (merged[code] or 0) + n
      total = total + n
    end
    local first, last = t:get("t_first"), t:get("t_last")
    if first > 0 and (t0 == nil or first < t0) then t0 = first end
    if last > t1 then t1 = last end
    any_wrapped = any_wrapped + t:get("wrapped")
  end
  local parts = {}
  for code, n in pairs(merged) do parts[#parts + 1] = string.format('"%d": %d', code, n) end
  local e = summary.errors
  io.write(string.format(
    'BENCHJSON {"responses": %d, "wrk_requests": %d, "wrk_duration_s": %.6f, "span_s": %.6f, ' ..
    '"wrapped": %d, "p50_ms": %.3f, "p95_ms": %.3f, "p99_ms": %.3f, "max_ms": %.3f, ' ..
    '"socket_errors": %d, "statuses": {%s}}\n',
    total, summary.requests, summary.duration / 1e6, (t0 and (t1 - t0)) or 0, any_wrapped,
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000, e.connect + e.read + e.write + e.timeout, table.concat(parts, ", ")))
end
