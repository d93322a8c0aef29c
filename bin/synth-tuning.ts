/**
 * Start-up and exit tuning for the synth entry point only (never for library users). The benchmark's
 * floor and plain apps exit the same way, so that the comparison measures synth, not heap teardown.
 *
 * cdktf records a full-depth stack trace for every token it creates (`creationStack`), which it
 * shows only when a token fails to resolve. In the reference synth that is about 110 ms of the
 * ~1 s run (see BENCHMARKS.md). The app switches it off; set `GANTRY_CDKTF_STACK_TRACES=1` to get
 * cdktf's creation stacks back while debugging a resolve error.
 */
import * as stackTrace from 'cdktf/lib/tokens/private/stack-trace';

export function tuneSynth(env: NodeJS.ProcessEnv): void {
  if (env.GANTRY_CDKTF_STACK_TRACES === '1') return;
  (stackTrace as { captureStackTrace: (below?: unknown) => string[] }).captureStackTrace = () => [];
}

/**
 * Ends the process as soon as everything is written. Synth is synchronous, so nothing is pending
 * once `app.synth()` returns; letting Node end on its own would also tear the ~100 MiB heap down, which
 * costs tens of milliseconds the user waits for (see BENCHMARKS.md). The empty writes' callbacks run
 * after every earlier write to stdout and stderr is flushed (pipes are asynchronous on macOS).
 */
export function exitWhenFlushed(): void {
  process.stdout.write('', () => process.stderr.write('', () => process.exit(0)));
}
