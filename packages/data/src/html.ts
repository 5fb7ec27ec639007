const NAMED: Record<string, string> = {
  amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ', ensp: ' ', emsp: ' ', thinsp: ' ',
  copy: '©', reg: '®', trade: '™', hellip: '…', mdash: '—', ndash: '–', minus: '−',
  lsquo: '‘', rsquo: '’', sbquo: '‚', ldquo: '“', rdquo: '”', bdquo: '„', laquo: '«', raquo: '»',
  bull: '•', middot: '·', deg: '°', times: '×', divide: '÷', plusmn: '±', micro: 'µ', para: '¶',
  sect: '§', frac12: '½', frac14: '¼', frac34: '¾', sup2: '²', sup3: '³', euro: '€', pound: '£',
  yen: '¥', cent: '¢', iexcl: '¡', iquest: '¿', shy: '',
  aacute: 'á', Aacute: 'Á', agrave: 'à', Agrave: 'À', acirc: 'â', Acirc: 'Â', atilde: 'ã', Atilde: 'Ã',
  auml: 'ä', Auml: 'Ä', aring: 'å', Aring: 'Å', aelig: 'æ', AElig: 'Æ', ccedil: 'ç', Ccedil: 'Ç',
  eacute: 'é', Eacute: 'É', egrave: 'è', Egrave: 'È', ecirc: 'ê', Ecirc: 'Ê', euml: 'ë', Euml: 'Ë',
  iacute: 'í', Iacute: 'Í', igrave: 'ì', Igrave: 'Ì', icirc: 'î', Icirc: 'Î', iuml: 'ï', Iuml: 'Ï',
  ntilde: 'ñ', Ntilde: 'Ñ', oacute: 'ó', Oacute: 'Ó', ograve: 'ò', Ograve: 'Ò', ocirc: 'ô', Ocirc: 'Ô',
  otilde: 'õ', Otilde: 'Õ', ouml: 'ö', Ouml: 'Ö', oslash: 'ø', Oslash: 'Ø', szlig: 'ß',
  uacute: 'ú', Uacute: 'Ú', ugrave: 'ù', Ugrave: 'Ù', ucirc: 'û', Ucirc: 'Û', uuml: 'ü', Uuml: 'Ü',
  yacute: 'ý', Yacute: 'Ý', yuml: 'ÿ',
};

/**
 * Decodes HTML character references once: named ones (`&amp;` `&quot;` `&#39;` `&nbsp;` ...,
 * `&nbsp;` becomes a plain space) and numeric ones (`&#123;`, `&#x1F;`). Unknown or invalid
 * references are left as they are; `&amp;lt;` becomes `&lt;` (no double decoding).
 */
export function decodeHtmlEntities(text: string): string {
  if (text.indexOf('&') < 0) return text;
  return text.replace(/&(#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[a-zA-Z][a-zA-Z0-9]{1,31});/g, (m, body: string) => {
    if (body[0] === '#') {
      const code = body[1] === 'x' || body[1] === 'X' ? parseInt(body.slice(2), 16) : parseInt(body.slice(1), 10);
      if (!Number.isFinite(code) || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) return m;
      if (code === 0xa0) return ' ';
      return String.fromCodePoint(code);
    }
    const v = NAMED[body];
    return v === undefined ? m : v;
  });
}

const BLOCK_TAG = /<\s*(br|\/?p|\/?div|\/?li|\/?ul|\/?ol|\/?tr|\/?h[1-6])\b[^>]*>/gi;
const ANY_TAG = /<\/?[a-zA-Z][^<>]*>|<!--[\s\S]*?-->/g;

/** Removes HTML tags; line-breaking tags (`<br>`, `<p>`, `<li>`, `<div>` ...) become newlines. */
export function stripHtmlTags(text: string): string {
  if (text.indexOf('<') < 0) return text;
  return text.replace(BLOCK_TAG, '\n').replace(ANY_TAG, ' ');
}

/** Collapses runs of spaces/tabs in each line, trims lines and drops empty lines. */
export function normalizeWhitespace(text: string): string {
  return text
    .split(/\r?\n/)
    .map((l) => l.replace(/[\s\u00a0]+/g, ' ').trim())
    .filter((l) => l.length > 0)
    .join('\n');
}

/** Title cleaning: decode entities, single line, collapsed whitespace. */
export function cleanTitle(text: string | undefined | null): string {
  if (text === undefined || text === null) return '';
  return decodeHtmlEntities(String(text)).replace(/[\s\u00a0]+/g, ' ').trim();
}

/**
 * Description cleaning: accepts a string or a list of strings (one paragraph each, as in Amazon
 * metadata), strips tags, decodes entities and returns non-empty lines joined by `\n`.
 */
export function cleanDescription(value: unknown): string {
  const parts: string[] = [];
  const visit = (v: unknown) => {
    if (typeof v === 'string') parts.push(v);
    else if (Array.isArray(v)) v.forEach(visit);
  };
  visit(value);
  return normalizeWhitespace(parts.map((p) => decodeHtmlEntities(stripHtmlTags(p))).join('\n'));
}

/** First non-empty line of a (cleaned) description, or "". */
export function firstLine(text: string | undefined): string {
  if (!text) return '';
  for (const l of text.split('\n')) {
    const t = l.trim();
    if (t) return t;
  }
  return '';
}
