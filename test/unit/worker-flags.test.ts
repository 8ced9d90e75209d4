import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');

/** The V8 flags the CLI's shebang gives every process it starts (a worker included). */
function shebangFlags(): string[] {
  return readFileSync(join(ROOT, 'bin', 'trailwarden.js'), 'utf8')
    .split('\n')[0]
    .split(/\s+/)
    .filter((word) => word.startsWith('--'));
}

test("the Docker image runs node with the shebang's V8 flags (one heap policy wherever a worker runs)", () => {
  const entrypoint = /^ENTRYPOINT (\[.*\])$/m.exec(readFileSync(join(ROOT, 'Dockerfile'), 'utf8'));
  expect(entrypoint).not.toBeNull();
  const words = JSON.parse(entrypoint![1]) as string[];
  expect(words.filter((word) => word.startsWith('--'))).toEqual(shebangFlags());
  expect(shebangFlags()).toEqual(expect.arrayContaining(['--max-semi-space-size=2', '--heap-growing-percent=50', '--single-threaded-gc']));
});
