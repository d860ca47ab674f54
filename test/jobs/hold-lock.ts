// Run as a child process by the lock tests: holds the DuckDB file open for writing, says
// "ready" on stdout, and lets go when its stdin closes.
import { openWriter } from '../../src/db/open.ts';

const db = await openWriter(process.argv[2]!, { threads: 1 });
process.stdout.write('ready\n');
process.stdin.resume();
process.stdin.on('end', () => {
  db.close();
  process.exit(0);
});
