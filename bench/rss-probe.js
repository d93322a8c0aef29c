// Preloaded (`node -r ./bench/rss-probe.js`) into every process the benchmark spawns: at exit it
// writes the process's peak resident set size (KiB) and CPU time (user + system, microseconds), both
// from getrusage, to $GANTRY_BENCH_RSS_FILE as `<maxRSS> <cpu>`.
// Works wherever Node runs, unlike `/usr/bin/time -f %M`.
'use strict';
const file = process.env.GANTRY_BENCH_RSS_FILE;
if (file) {
  process.on('exit', () => {
    const usage = process.resourceUsage();
    require('fs').writeFileSync(file, `${usage.maxRSS} ${usage.userCPUTime + usage.systemCPUTime}`);
  });
}
