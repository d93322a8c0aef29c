/**
 * Start-up tuning for the synth entry point only (never for library users).
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
