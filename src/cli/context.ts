// What every command needs first: the validated config (defaults < file < env < flags) and
// the operational logger at the configured level.
import { loadConfig, type ResolvedConfig } from '../config/load.ts';
import { createLogger, type Logger } from '../log.ts';

export interface CommandContext {
  resolved: ResolvedConfig;
  logger: Logger;
}

/** Drops flags the user did not give, so they do not override file or env values. */
export function definedOnly(values: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(values)) {
    if (v === undefined) continue;
    out[k] = v !== null && typeof v === 'object' && !Array.isArray(v) ? definedOnly(v as Record<string, unknown>) : v;
  }
  return out;
}

export function commandContext(argv: { config?: string | undefined }, overrides: Record<string, unknown> = {}): CommandContext {
  const resolved = loadConfig({ file: argv.config, overrides: definedOnly(overrides) });
  return { resolved, logger: createLogger(resolved.config.log_level) };
}
