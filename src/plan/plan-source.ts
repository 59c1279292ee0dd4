// Turns the text of a plan file (YAML, or JSON, which YAML 1.2 reads too) into a document, or
// says where it stopped making sense. Kept apart from the CLI so the console can reuse it on
// what a user pastes.
import { parseAllDocuments } from 'yaml';

export type PlanSourceResult =
  | { ok: true; document: unknown }
  | { ok: false; message: string; line: number | null; column: number | null };

export function parsePlanSource(text: string): PlanSourceResult {
  const documents = parseAllDocuments(text, { prettyErrors: true, uniqueKeys: true });
  if (!Array.isArray(documents)) {
    return { ok: false, message: 'the file is empty', line: null, column: null };
  }
  for (const document of documents) {
    const error = document.errors[0];
    if (error) {
      const position = error.linePos?.[0];
      // prettyErrors appends the position and a code frame; the position is returned separately.
      const message = (error.message.split('\n')[0] ?? error.message).replace(/ at line \d+, column \d+:?$/, '');
      return { ok: false, message, line: position?.line ?? null, column: position?.col ?? null };
    }
  }
  const nonEmpty = documents.filter((document) => document.contents !== null);
  if (nonEmpty.length === 0) return { ok: false, message: 'the file has no document', line: null, column: null };
  if (nonEmpty.length > 1) {
    const second = nonEmpty[1]?.range?.[0];
    const line = second === undefined ? null : text.slice(0, second).split('\n').length;
    return { ok: false, message: `the file holds ${nonEmpty.length} documents; plan one at a time`, line, column: null };
  }
  let document: unknown;
  try {
    // Alias expansion is capped so a "billion laughs" file cannot exhaust memory.
    document = nonEmpty[0]?.toJS({ maxAliasCount: 100 });
  } catch (error) {
    return { ok: false, message: error instanceof Error ? error.message : String(error), line: null, column: null };
  }
  if (typeof document !== 'object' || document === null || Array.isArray(document)) {
    return { ok: false, message: 'the file is not a YAML or JSON mapping (expected apiVersion, kind, metadata, spec)', line: 1, column: 1 };
  }
  return { ok: true, document };
}
