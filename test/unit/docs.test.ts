/** The rule specification is in the repository, and every section the code and tests cite exists in it. */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');
const spec = readFileSync(join(ROOT, 'docs', 'rules.md'), 'utf8');

function sourceFiles(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && /\.(ts|js|md)$/.test(e.name))
    .map((e) => join(e.parentPath, e.name));
}

test('every "docs/rules.md, Section" citation names a heading or a bolded definition of docs/rules.md', () => {
  const cited = new Set<string>();
  for (const file of [...sourceFiles('src'), ...sourceFiles('test'), ...sourceFiles('scripts'), join(ROOT, 'README.md')]) {
    // a citation may run over a comment's line break: " * " joins its words
    for (const match of readFileSync(file, 'utf8').matchAll(/docs\/rules\.md(?:'s)?,? \(?"([^"]+)"/g)) cited.add(match[1].replace(/\s*\n\s*\*?\s*/g, ' '));
  }
  expect(cited.size).toBeGreaterThan(4);
  const missing = [...cited].filter((section) => !spec.includes(`## ${section}`) && !spec.includes(`**${section}**`));
  expect(missing).toEqual([]);
});

test('nothing cites the specification outside the repository', () => {
  const old = ['RULES', 'md'].join('.');
  const citing = [...sourceFiles('src'), ...sourceFiles('test'), ...sourceFiles('scripts'), join(ROOT, 'README.md')].filter((file) =>
    readFileSync(file, 'utf8').includes(old),
  );
  expect(citing).toEqual([]);
});
