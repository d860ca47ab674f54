// A proxy in its own process, configured by TAGSPEND_* variables, that prints its URL as
// one JSON line on stdout once it listens. Tests kill it with signals.
import { loadConfig } from '../../src/config/load.ts';
import { silentLogger } from '../../src/log.ts';
import { startProxy } from '../../src/proxy/server.ts';

const proxy = await startProxy(loadConfig(), { logger: silentLogger, host: '127.0.0.1', port: 0 });
process.stdout.write(JSON.stringify({ url: proxy.url, pid: process.pid }) + '\n');
process.once('SIGTERM', () => {
  proxy.close().then(() => process.exit(0), () => process.exit(1));
});
