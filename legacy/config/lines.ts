/**
 * Lines of a line-oriented operator file (nodes, public_addresses) as
 * Samba's file_lines_load() hands them to ctdb: split at '\n'; a '\r' or a
 * NUL ends the line's text (so CRLF files read like LF files and anything
 * after a stray '\r' is invisible). `line` is 1-based.
 */
export interface FileLine {
  line: number;
  text: string;
}

export function fileLines(text: string): FileLine[] {
  return text.split('\n').map((raw, i) => {
    const end = raw.search(/[\r\0]/);
    return { line: i + 1, text: end === -1 ? raw : raw.slice(0, end) };
  });
}

/** Leading blanks as ctdb strips them: only spaces and tabs. */
export function stripLeadingBlanks(s: string): string {
  return s.replace(/^[ \t]+/, '');
}
