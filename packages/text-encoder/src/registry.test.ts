import { createTextEncoder, listTextEncoders, registerTextEncoder } from './registry';
import { HashedTfidfEncoder } from './tfidf';
import { EMPTY_DESCRIPTION, itemText, itemTexts } from './item-text';

describe('text encoder registry', () => {
  it('lists the built-ins and creates by name', async () => {
    expect(listTextEncoders()).toEqual(expect.arrayContaining(['use-lite', 'tfidf', 'onnx']));
    const enc = await createTextEncoder('tfidf', { dim: 128 });
    expect(enc).toBeInstanceOf(HashedTfidfEncoder);
    expect(enc.dim).toBe(128);
  });

  it('accepts third-party encoders and explains unknown names', async () => {
    registerTextEncoder('zeros', (o) => ({
      name: 'zeros', id: 'zeros@1', dim: Number(o.dim ?? 2),
      encode: async (t: string[]) => new Float32Array(t.length * Number(o.dim ?? 2)),
      dispose: () => undefined,
    }));
    expect((await createTextEncoder('zeros', { dim: 3 })).dim).toBe(3);
    await expect(createTextEncoder('nope')).rejects.toThrow(/unknown text encoder "nope"; registered: .*tfidf/);
    await expect(createTextEncoder('onnx')).rejects.toThrow(/modelDir/);
    expect(() => registerTextEncoder('bad name', () => { throw new Error(); })).toThrow(/invalid/);
  });
});

describe('itemTexts', () => {
  it('joins title and the first description line, with the paper fallback', () => {
    expect(itemText({ title: 'Jaws (1975)', description: 'A shark.\nSecond line.' })).toBe('Jaws (1975), A shark.');
    expect(itemText({ title: 'Jaws (1975)', description: '  ' })).toBe(`Jaws (1975), ${EMPTY_DESCRIPTION}`);
    expect(itemText({ title: '', description: 'Only text' })).toBe('Only text');
    expect(itemText({ title: 'T', description: '' }, 'n/a')).toBe('T, n/a');
    expect(itemTexts([{ title: '', description: '' }, { title: 'A', description: '\n\nB' }]))
      .toEqual([EMPTY_DESCRIPTION, 'A, B']);
  });
});
