import { RULES } from '../rules';

/** The "Examples" and "Environment" sections every command's --help ends with. */
export function example(commands: string[], env: string[]): string {
  return `\nExamples:\n${commands.map((c) => `  $ ${c}`).join('\n')}\n` + `\nEnvironment:\n${env.map((e) => `  ${e}`).join('\n')}\n`;
}

/** The variables every command that reaches Temporal reads. */
export const TEMPORAL_ENV = ['TRAILWARDEN_CONFIG', 'TEMPORAL_ADDRESS', 'TEMPORAL_NAMESPACE', 'TRAILWARDEN_TASK_QUEUE', 'TEMPORAL_TLS_*, TEMPORAL_API_KEY'];

/** An incident id prefix for the examples: incident ids start with their rule's id. */
const SOME_INCIDENT = `incident-${RULES[0].id}-a21e`;

const MORE_HELP: Record<string, { examples: string[]; env?: string[] }> = {
  schedule: { examples: ['trailwarden schedule create', 'trailwarden schedule describe'] },
  'schedule create': { examples: ['trailwarden schedule create', 'trailwarden schedule create --at 03:30 --rescan-days 2'] },
  'schedule describe': { examples: ['trailwarden schedule describe', 'trailwarden schedule describe --json'] },
  'schedule pause': { examples: ['trailwarden schedule pause --note "trail migration"'] },
  'schedule unpause': { examples: ['trailwarden schedule unpause'] },
  'schedule trigger': { examples: ['trailwarden schedule trigger'] },
  'schedule backfill': { examples: ['trailwarden schedule backfill --from 2026-11-01 --to 2026-11-07'] },
  'schedule delete': { examples: ['trailwarden schedule delete'] },
  incidents: { examples: ['trailwarden incidents --open', 'trailwarden incidents --json'] },
  incident: { examples: [`trailwarden incident ack ${SOME_INCIDENT}`, `trailwarden incident close ${SOME_INCIDENT} --reason "patch rollout"`] },
  'incident ack': { examples: [`trailwarden incident ack ${SOME_INCIDENT}   # an unambiguous prefix of the id`] },
  'incident close': { examples: [`trailwarden incident close ${SOME_INCIDENT} --reason "patch rollout"`] },
  'codec-server': {
    examples: ['TRAILWARDEN_CODEC_KEY_FILE=keys.json trailwarden codec-server --port 8888'],
    env: ['TRAILWARDEN_CODEC_KEYS, TRAILWARDEN_CODEC_KEY_FILE'],
  },
};

interface HelpCommand {
  name(): string;
  commands: readonly HelpCommand[];
  addHelpText(position: 'after', text: string): unknown;
}

/** Gives every command without its own "Examples" section the one from MORE_HELP. */
export function addMoreHelp(program: HelpCommand): void {
  const walk = (command: HelpCommand, path: string) => {
    const help = MORE_HELP[path];
    if (help) command.addHelpText('after', example(help.examples, help.env ?? TEMPORAL_ENV));
    for (const sub of command.commands) walk(sub, path ? `${path} ${sub.name()}` : sub.name());
  };
  walk(program, '');
}
