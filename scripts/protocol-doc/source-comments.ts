/**
 * The comments the source gives each member of one declaration, so that the
 * protocol document says what the code's own comments say: `/** … *\/` above a
 * field or constant, or `// …` after it on the same line. Reads one object or
 * array literal (or interface body) by line, members at its top level only.
 */

/** Member name -> comment, for `const NAME = …{ … }` / `[ … ]` or `interface NAME { … }` in `source`. */
export function memberComments(source: string, declaration: string): Map<string, string> {
  const comments = new Map<string, string>();
  const start = new RegExp(`(?:const|interface)\\s+${declaration}\\b`).exec(source);
  if (!start) throw new Error(`protocol-doc: no declaration of ${declaration} in the source`);
  const open = source.slice(start.index).search(/[{[]/);
  if (open < 0) return comments;
  const lines = source.slice(start.index + open + 1).split('\n');

  let depth = 1;
  let pending: string[] | undefined;
  let inDoc = false;
  for (const line of lines) {
    const trimmed = line.trim();
    if (depth === 1) {
      if (inDoc || trimmed.startsWith('/**')) {
        const text = trimmed
          .replace(/^\/\*\*?/, '')
          .replace(/\*\/$/, '')
          .replace(/^\*\s?/, '')
          .trim();
        pending = inDoc ? [...(pending ?? []), text] : [text];
        inDoc = !trimmed.endsWith('*/');
        continue;
      }
      const member = /^(?:'([^']+)'|"([^"]+)"|(\w+))\s*[?:,]?/.exec(trimmed);
      if (member && trimmed !== '' && !trimmed.startsWith('//') && !/^[}\]]/.test(trimmed)) {
        const name = member[1] ?? member[2] ?? member[3]!;
        const trailing = /,\s*\/\/\s*(.*)$/.exec(trimmed)?.[1];
        const text = [pending?.join(' ').trim(), trailing?.trim()].filter(Boolean).join(' ');
        if (text) comments.set(name, text);
      }
      pending = undefined;
    }
    for (const char of line.replace(/\/\/.*$/, '').replace(/'[^']*'/g, '')) {
      if (char === '{' || char === '[' || char === '(') depth++;
      else if (char === '}' || char === ']' || char === ')') depth--;
    }
    if (depth <= 0) break;
  }
  return comments;
}
