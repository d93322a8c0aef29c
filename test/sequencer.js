/**
 * Longest first, so the two workers finish together: the emulator suite, then the Terraform suites,
 * the database suites and the unit tests. Within a project, Jest's own order (the last run's
 * durations where it has them, else file size).
 */
const Sequencer = require('@jest/test-sequencer').default;

const RANK = { emulator: 0, terraform: 1, database: 2, unit: 3 };

class ProjectSequencer extends Sequencer {
  async sort(tests) {
    const ordered = await super.sort(tests);
    const rank = (test) => RANK[test.context.config.displayName?.name] ?? RANK.unit;
    const position = new Map(ordered.map((test, i) => [test, i]));
    return [...ordered].sort((a, b) => rank(a) - rank(b) || position.get(a) - position.get(b));
  }
}

module.exports = ProjectSequencer;
