/**
 * The one error every dataset loader throws for bad input: a message that says what is wrong,
 * and the file (or folder) at fault in `file`, so a CLI can print it and a test can check it.
 */
export class DatasetError extends Error {
  /** The file or folder the problem was found in. */
  readonly file: string;
  constructor(file: string, message: string, options?: { cause?: unknown }) {
    super(`${file}: ${message}`, options);
    this.name = 'DatasetError';
    this.file = file;
  }
}
