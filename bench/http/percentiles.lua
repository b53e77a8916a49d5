-- wrk: print the latency percentiles wrk's --latency does not (p99.9, max), in ms.
done = function(summary, latency, requests)
  io.write(string.format("pct p50=%.3f p90=%.3f p99=%.3f p99.9=%.3f max=%.3f\n",
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
    latency:percentile(99.9) / 1000, latency.max / 1000))
end
