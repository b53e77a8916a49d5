-- wrk script (bench/scheduler/run.sh): every request creates a workspace with
-- a unique name ("b<thread>-<counter>-<run>") and counts the answers by status.
local threads = {}
local counter = 0
local run = os.getenv("RUN_TAG") or "x"
local token = os.getenv("FC_TOKEN") or ""

function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

function init(args)
  created, other = 0, 0
  wrk.headers["Authorization"] = "Bearer " .. token
  wrk.headers["Content-Type"] = "application/json"
end

function request()
  counter = counter + 1
  local body = string.format('{"name":"b%s-%d-%d","resources":{"memory_mib":1,"cpu_millis":1}}',
                             run, tid, counter)
  return wrk.format("POST", "/v1/workspaces", nil, body)
end

function response(status, headers, body)
  if status == 201 then created = created + 1 else other = other + 1 end
end

function done(summary, latency, requests)
  local c, o = 0, 0
  for _, t in ipairs(threads) do
    c = c + t:get("created")
    o = o + t:get("other")
  end
  local secs = summary.duration / 1e6
  io.write(string.format("created=%d other=%d seconds=%.2f placements_per_s=%.0f p50_ms=%.2f p99_ms=%.2f p99.9_ms=%.2f max_ms=%.2f\n",
                         c, o, secs, c / secs, latency:percentile(50) / 1000, latency:percentile(99) / 1000,
                         latency:percentile(99.9) / 1000, latency.max / 1000))
end
