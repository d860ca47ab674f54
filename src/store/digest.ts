// Content digests the stores check uploads against (the PutOptions.contentMd5 contract).
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { StoreIntegrityError } from '../errors.ts';

export function md5Base64(data: Buffer): string {
  return createHash('md5').update(data).digest('base64');
}

export async function md5OfFile(path: string): Promise<string> {
  const hash = createHash('md5');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('base64');
}

export function checkMd5(key: string, expected: string, actual: string): void {
  if (expected !== actual) {
    throw new StoreIntegrityError(`put ${key}: content MD5 ${actual} does not match the expected ${expected}`);
  }
}
