// Preloaded into a measured node process (node --require): writes its peak RSS (KiB) on exit.
process.on('exit', () => {
  if (process.env.PEAK_RSS_FILE) require('fs').writeFileSync(process.env.PEAK_RSS_FILE, String(process.resourceUsage().maxRSS));
});
