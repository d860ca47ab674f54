// Known secrets (provider keys, the master key, proxy keys from config) scrubbed from text the
// proxy stores or relays that came from elsewhere: a provider's error answer can echo the key
// it was sent ("Incorrect API key provided: sk-..."), and that text goes into the record's
// `error` and back to the client. Successful answers are relayed as they are (not scanned).
export const SCRUBBED = '[REDACTED]';

/** Shorter values are not treated as secrets: replacing them would mangle ordinary text. */
const MIN_SECRET_LENGTH = 8;

export class SecretScrubber {
  private readonly secrets: string[];

  constructor(secrets: Iterable<string | null | undefined>) {
    const unique = new Set<string>();
    for (const s of secrets) if (typeof s === 'string' && s.length >= MIN_SECRET_LENGTH) unique.add(s);
    // Longest first, so a secret that contains another is replaced whole.
    this.secrets = [...unique].sort((a, b) => b.length - a.length);
  }

  /** The text with every known secret replaced by [REDACTED]. */
  scrub(text: string): string {
    for (const s of this.secrets) if (text.includes(s)) text = text.replaceAll(s, SCRUBBED);
    return text;
  }
}
