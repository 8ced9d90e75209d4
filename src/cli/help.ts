/** The "Examples" and "Environment" sections every command's --help ends with. */
export function example(commands: string[], env: string[]): string {
  return (
    `\nExamples:\n${commands.map((c) => `  $ ${c}`).join('\n')}\n` +
    `\nEnvironment:\n${env.map((e) => `  ${e}`).join('\n')}\n`
  );
}

/** The variables every command that reaches Temporal reads. */
export const TEMPORAL_ENV = ['TRAILWARDEN_CONFIG', 'TEMPORAL_ADDRESS', 'TEMPORAL_NAMESPACE', 'TRAILWARDEN_TASK_QUEUE', 'TEMPORAL_TLS_*, TEMPORAL_API_KEY'];
