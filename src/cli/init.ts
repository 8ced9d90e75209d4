import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { Command } from 'commander';
import { DEFAULT_CONFIG_FILE, UsageError } from '../config/load';
import { DEMO_DATE, buildSampleTrail } from '../demo/sample-trail';
import { RULES } from '../rules';
import { example } from './help';

/**
 * The starter configuration. JSON has no comments, so comments are `"//"` keys, which the config
 * reader accepts (and ignores) in every object.
 */
export function starterConfig(logs: string): object {
  return {
    '//': [
      'trailwarden configuration. Keys named "//" are comments and are ignored. README.md, "Configuration", has every option.',
      'Check it with: trailwarden scan --embedded --date YYYY-MM-DD',
    ],
    sources: [
      {
        '//': 'a folder of exported CloudTrail logs (*.json, *.json.gz, each {"Records":[...]}), read recursively',
        type: 'directory',
        path: logs,
      },
    ],
    '//sources': [
      'more sources, commented out: move one into "sources" to use it',
      { type: 's3', bucket: 'my-trail-bucket', prefix: '', accounts: ['111122223333'], regions: ['us-east-1'] },
      { type: 'lookupEvents', regions: ['us-east-1'] },
    ],
    rules: {
      '//': 'every rule is on by default with the seed behaviour; options are in README.md, "Rule options", and docs/rules.md',
      ...Object.fromEntries(RULES.map((rule) => [rule.id, { enabled: true }])),
      sigma: {
        '//': 'the SigmaHQ CloudTrail pack shipped with trailwarden (DRL 1.1): set enabled to true; add your own rule files with paths; docs/sigma.md',
        enabled: false,
      },
    },
    findings: { '//': 'one <date>.jsonl file per scanned day', directory: '.trailwarden/findings' },
    '//notifications': [
      { type: 'file', path: '.trailwarden/notifications.jsonl' },
      { type: 'slack', urlEnv: 'SLACK_WEBHOOK_URL' },
    ],
  };
}

/** `trailwarden init [--sample] [--force]`: a commented starter config (and the demo's sample trail). */
export function registerInitCommand(program: Command): void {
  program
    .command('init')
    .description(`write a commented starter ${DEFAULT_CONFIG_FILE} here (and, with --sample, the demo's sample trail in ./exported-logs)`)
    .option('--sample', `also write the demo's sample trail (CloudTrail files of ${DEMO_DATE}) into ./exported-logs`)
    .option('--force', 'overwrite an existing configuration file')
    .addHelpText(
      'after',
      example(
        ['trailwarden init --sample && trailwarden scan --embedded --date ' + DEMO_DATE, 'trailwarden init --config ./conf/trailwarden.config.json'],
        ['TRAILWARDEN_CONFIG (the file to write)'],
      ),
    )
    .action((opts: { sample?: boolean; force?: boolean }, command: Command) => {
      const file = resolve((command.optsWithGlobals().config as string | undefined) ?? process.env.TRAILWARDEN_CONFIG ?? DEFAULT_CONFIG_FILE);
      if (existsSync(file) && !opts.force) throw new UsageError(`${file} exists already: edit it, or pass --force to overwrite it`);
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, `${JSON.stringify(starterConfig('./exported-logs'), null, 2)}\n`);
      process.stdout.write(`wrote ${file}\n`);
      if (opts.sample) {
        const dir = join(dirname(file), 'exported-logs');
        const files = buildSampleTrail();
        for (const [key, body] of files) {
          mkdirSync(dirname(join(dir, key)), { recursive: true });
          writeFileSync(join(dir, key), body);
        }
        process.stdout.write(`wrote the sample trail (${files.size} files of ${DEMO_DATE}) into ${dir}\n`);
        process.stdout.write(`next: trailwarden scan --embedded --date ${DEMO_DATE}\n`);
      } else {
        process.stdout.write(
          `next: put exported CloudTrail logs in ./exported-logs (or edit "sources"), then: trailwarden scan --embedded --date YYYY-MM-DD\n`,
        );
      }
    });
}
