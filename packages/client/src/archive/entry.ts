/**
 * What the archive readers hand out: one entry at a time, admitted by the guards, a
 * file's bytes streaming behind it.
 * @module
 */

/** An entry the guards admitted. */
export interface ArchiveItem {
  /** The relative path, `/`-separated (no trailing `/`). */
  readonly path: string;
  readonly type: 'file' | 'directory';
  /** The file's declared size (0 for a directory). */
  readonly size: number;
}

/**
 * An entry as it is read. A file's bytes stream through `body`, counted against the
 * limits as they come; read it before asking for the next entry (what is left unread is
 * skipped, and counted, then). A directory's body is empty.
 */
export interface ArchiveEntry extends ArchiveItem {
  readonly body: AsyncIterable<Uint8Array>;
}

/** The body of a directory. */
export async function* noBody(): AsyncGenerator<Uint8Array> {}
