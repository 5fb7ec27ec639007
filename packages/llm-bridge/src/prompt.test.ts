import { TEMPLATES, extractAnswer, matchesTitle, namedCandidate, renderPrompt, renderTarget, templateFor } from './prompt';

/** A transparent tokenizer: one id per character (char code), so positions are easy to check. */
const chars = { encode: (s: string) => [...s].map((c) => c.codePointAt(0)!) };
const decode = (ids: number[]) => ids.map((i) => (i === -1 ? '§' : String.fromCodePoint(i))).join('');

describe('prompt builder', () => {
  test('renders the paper wording with the user slot first and one slot after each title', () => {
    const p = renderPrompt(chars, TEMPLATES.movies, [{ id: 4, title: 'Heat (1995)' }, { id: 9, title: 'Fargo (1996)' }],
      [{ id: 7, title: 'Babe (1995)' }, { id: 4, title: 'Heat (1995)' }], { placeholderId: -1, userRef: 3 });
    expect(p.text).toBe('[UserRep] is a user representation. This user has watched "Heat (1995)"[HistoryEmb], "Fargo (1996)"[HistoryEmb]'
      + ' in the previous. Recommend one next movie for this user to watch next from the following movie title set, '
      + '"Babe (1995)"[CandidateEmb], "Heat (1995)"[CandidateEmb]. The recommendation is ');
    expect(p.slots.map((s) => [s.kind, s.ref])).toEqual([['user', 3], ['history', 4], ['history', 9], ['candidate', 7], ['candidate', 4]]);
    expect(p.slots[0].position).toBe(0);
    // Each item slot sits right after the closing quote of its title.
    const rendered = decode(p.ids);
    for (const s of p.slots) {
      expect(p.ids[s.position]).toBe(-1);
      if (s.kind !== 'user') expect(rendered[s.position - 1]).toBe('"');
    }
    expect(p.ids.filter((i) => i === -1)).toHaveLength(5);
  });

  test('a title containing a slot marker stays text', () => {
    const p = renderPrompt(chars, TEMPLATES.games, [{ id: 1, title: 'Hack [HistoryEmb] the [CandidateEmb] Game' }], [{ id: 2, title: 'Zelda' }], { placeholderId: -1 });
    expect(p.slots.map((s) => s.kind)).toEqual(['user', 'history', 'candidate']);
    expect(decode(p.ids)).toContain('"Hack [HistoryEmb] the [CandidateEmb] Game"§');
    expect(p.text).toContain('This user has played');
    expect(p.text).toContain('Recommend one next game for this user to play next from the following game title set');
  });

  test('templates per domain', () => {
    expect(templateFor('movies').noun).toBe('movie');
    expect(templateFor('games').verb).toBe('play');
    expect(templateFor('beauty')).toBe(TEMPLATES.generic);
    expect(templateFor(undefined).pastVerb).toBe('bought');
  });

  test('target is the quoted title then end-of-sequence', () => {
    expect(renderTarget(chars, 'Heat', 0)).toEqual([...'"Heat"'].map((c) => c.charCodeAt(0)).concat(0));
  });

  test("the authors' match rule", () => {
    expect(matchesTitle('"Toy Story (1995)"', 'Toy Story (1995)')).toBe(true);
    expect(matchesTitle('I recommend "toy story (1995)" to them', 'Toy Story (1995)')).toBe(true);
    expect(matchesTitle('"Heat (1995)" or "Babe (1995)"', 'Babe (1995)')).toBe(true); // between first and last quote
    expect(matchesTitle('toy story (1995)', 'Toy Story (1995)')).toBe(true); // no quotes: whole text
    expect(matchesTitle('"Toy Story 2 (1999)"', 'Toy Story (1995)')).toBe(false);
    expect(extractAnswer('x "A" y')).toBe('a');
    expect(namedCandidate('"Heat 2 (2026)"', ['Heat', 'Heat 2 (2026)', 'Babe'])).toBe(1);
    expect(namedCandidate('"Nothing"', ['Heat', 'Babe'])).toBe(-1);
  });
});

describe('prompt pieces with a SentencePiece-style tokenizer', () => {
  // TinyStories-656K's tokenizer prepends "▁" to every text it encodes (normalizer Prepend):
  // encoded piece by piece, a prompt would gain a space at every piece boundary.
  const dir = require('node:path').resolve(__dirname, '..', '..', '..', '..', 'shared', 'models', 'tinystories-656k');
  test('pieces are encoded as continuations, so the prompt decodes to its own text', () => {
    const { loadTokenizer } = require('./tokenizer') as typeof import('./tokenizer');
    const tok = loadTokenizer(dir);
    const history = [{ id: 4, title: 'Up in Smoke' }, { id: 9, title: 'Home Alone' }];
    const cands = [{ id: 7, title: 'Funny Face' }, { id: 4, title: 'Up in Smoke' }];
    const p = renderPrompt(tok, TEMPLATES.movies, history, cands, { placeholderId: 0 });
    const text = p.text.replace(/\[(UserRep|HistoryEmb|CandidateEmb)\]/g, '');
    expect(tok.decode(p.ids.filter((_, i) => !p.slots.some((s) => s.position === i)))).toBe(text.trimStart());
    // Without the continuation mode, each piece would start with the tokenizer's own "▁".
    expect(tok.encode(' is a user')[0]).toBe(tok.encode(' is a user')[1]);
    expect(tok.encode(' is a user', { continuation: true })).toEqual(tok.encode(' is a user').slice(1));
    expect(renderTarget(tok, 'Home Alone', 2)).toEqual([...tok.encode('"Home Alone"').slice(1), 2]);
    expect(() => tok.encode('x', { continuation: true, addSpecialTokens: true })).toThrow(/continuation takes no special tokens/);
  });
});
