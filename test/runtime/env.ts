/** A clean environment for CLI runs: the caller's CI variables must not leak into the tests. */
export function cleanEnv(env: NodeJS.ProcessEnv, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const kept = Object.fromEntries(
    Object.entries(env).filter(([k]) => !/^(GITHUB_|GANTRY_|CODEBUILD_|AWS_ROLE_ARN$|TF_VAR_)/.test(k)),
  );
  return { ...kept, ...extra };
}
