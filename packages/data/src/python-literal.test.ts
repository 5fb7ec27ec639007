import { parsePythonLiteral } from './python-literal';

describe('parsePythonLiteral', () => {
  test('scalars, strings and escapes', () => {
    expect(parsePythonLiteral("'it\\'s'")).toBe("it's");
    expect(parsePythonLiteral('"It\'s \\"ok\\""')).toBe('It\'s "ok"');
    expect(parsePythonLiteral("u'caf\\xe9 \\u00e9 \\U0001F600 \\n\\t\\\\ \\101'")).toBe('café é 😀 \n\t\\ A');
    expect(parsePythonLiteral("r'C:\\new'")).toBe('C:\\new');
    expect(parsePythonLiteral("'''tri'ple'''")).toBe("tri'ple");
    expect(parsePythonLiteral("'a' 'b'")).toBe('ab');
    expect(parsePythonLiteral('-3.5e2')).toBe(-350);
    expect(parsePythonLiteral('42')).toBe(42);
    expect(parsePythonLiteral('True')).toBe(true);
    expect(parsePythonLiteral('None')).toBeNull();
  });
  test('containers', () => {
    expect(parsePythonLiteral("{'a': [1, 2.0, (3, 'x'),], 'b': {'c': False}, 5: set(), 'e': {1, 2}}")).toEqual({ a: [1, 2, [3, 'x']], b: { c: false }, '5': [], e: [1, 2] });
    expect(parsePythonLiteral('()')).toEqual([]);
    expect(parsePythonLiteral('{}')).toEqual({});
  });
  test('anything executable or malformed is rejected', () => {
    expect(() => parsePythonLiteral("__import__('os').system('rm -rf /')")).toThrow(/unsupported name/);
    expect(() => parsePythonLiteral("{'a': 1")).toThrow(/expected/);
    expect(() => parsePythonLiteral("'open")).toThrow(/unterminated/);
    expect(() => parsePythonLiteral('{1: 2} extra')).toThrow(/unexpected/);
    expect(() => parsePythonLiteral('1j')).toThrow(/complex/);
  });
});
