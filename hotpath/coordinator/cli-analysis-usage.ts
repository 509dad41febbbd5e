/** The usage lines of `bot4 analyze` and `bot4 gate` (apart, so `bot4 --help` loads no analysis code). */
export const ANALYSIS_USAGE = `  bot4 analyze <path> [--json]               duplication, layer rules, complexity of a folder or file
  bot4 gate [<path>] [--base <ref>] [--json]  quality gate on new code (exit 1 when it fails)

analyze/gate options:
  --remote               call the running architect / quality agents (also when BOT4_URL is set)
  --local                run in process even when BOT4_URL is set
  --base <ref>           gate: new code = the diff from this git revision (default: the committed baseline)
  --coverage <file>      gate: istanbul/vitest coverage-final.json for the coverage-on-new-code condition
  --config <file>        gate: the gate configuration (default <root>/quality-gate.json)
  --update-baseline      gate: accept current complexity and duplication into the baseline (never layer violations or circles; exit 1 if any)
  --min-tokens <n>, --min-lines <n>, --parts duplicates,layers,complexity   analyze: options`;
