/** Where in an input file a problem was found. */
export interface DataFormatLocation {
  /** Path of the file being read. */
  file: string;
  /** 1-based line number, when known. */
  line?: number;
  /** Name of the offending field or column, when known. */
  field?: string;
}

/**
 * Raised when an input file does not match its declared format: bad JSON on a line, a missing
 * field, invalid UTF-8, an empty file, a non-numeric rating or timestamp, ...
 * The message names the file, line and field, e.g.
 * `ratings.csv:12: field "rating": not a number: "five"`.
 */
export class DataFormatError extends Error {
  readonly file: string;
  readonly line: number | undefined;
  readonly field: string | undefined;
  /** The problem without the location prefix. */
  readonly reason: string;

  constructor(reason: string, location: DataFormatLocation) {
    const where =
      location.file +
      (location.line !== undefined ? `:${location.line}` : '') +
      (location.field !== undefined ? `: field "${location.field}"` : '');
    super(`${where}: ${reason}`);
    this.name = 'DataFormatError';
    this.file = location.file;
    this.line = location.line;
    this.field = location.field;
    this.reason = reason;
  }
}

/**
 * A named column is not in a delimited file's header (a column the caller named, or none of a
 * column's default names). `role` says which column ("user", "item", "time", "rating", ...),
 * `given` the name the caller asked for (undefined when the defaults were searched), `header`
 * the file's header. The message lists the header. Its `name` stays "DataFormatError".
 */
export class MissingColumnError extends DataFormatError {
  readonly role: string;
  readonly given: string | undefined;
  readonly header: string[];
  /** The names that were looked for. */
  readonly candidates: string[];

  constructor(role: string, given: string | undefined, candidates: string[], header: string[], file: string) {
    const reason = given
      ? `no column "${given}" for the ${role} (header: ${header.join(', ')})`
      : `no ${role} column (looked for ${candidates.join(', ')}; header: ${header.join(', ')})`;
    super(reason, { file, line: 1, field: given ?? candidates[0] });
    this.role = role;
    this.given = given;
    this.header = header;
    this.candidates = candidates;
  }
}
