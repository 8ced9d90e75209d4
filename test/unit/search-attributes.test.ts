import { keywordList } from '../../src/workflows/search-attributes';

describe('keywordList', () => {
  test('a short list: sorted, whole', () => {
    expect(keywordList(['b', 'a', 'PH_Rule_ES_IMPORT_AWS_15'])).toEqual(['PH_Rule_ES_IMPORT_AWS_15', 'a', 'b']);
  });

  test("a long list (a scan with the Sigma pack's rule ids) stays within Temporal's 2048 bytes a value, and says how many it left out", () => {
    const ids = Array.from({ length: 70 }, (_, i) => `${String(i).padStart(8, '0')}-aaaa-4bbb-8ccc-dddddddddddd`);
    const list = keywordList(ids);
    expect(JSON.stringify(list).length).toBeLessThanOrEqual(2048);
    const shown = list.length - 1;
    expect(list.slice(0, shown)).toEqual(ids.slice(0, shown));
    expect(list[shown]).toBe(`+${70 - shown} more`);
    expect(shown).toBeGreaterThan(40);
  });
});
