// Preloaded (`node -r ./bench/rss-probe.js`) into every process the benchmark spawns: at exit it
// writes the process's peak resident set size (KiB, from getrusage) to $GANTRY_BENCH_RSS_FILE.
// Works wherever Node runs, unlike `/usr/bin/time -f %M`.
'use strict';
const file = process.env.GANTRY_BENCH_RSS_FILE;
if (file) {
  process.on('exit', () => {
    require('fs').writeFileSync(file, String(process.resourceUsage().maxRSS));
  });
}
